// The board of a process: drag a case's card to another column to move it there.
// The server decides (the same move endpoint as the card's buttons, as JSON); when it
// refuses, its reasons are shown and the card stays where it was.
(function () {
  const board = document.querySelector(".board");
  if (!board) return;
  const messages = document.querySelector("#board-messages");
  let dragged = null;

  function columns() {
    return board.querySelectorAll(".board-column");
  }

  function say(heading, reasons) {
    messages.replaceChildren();
    if (!heading) { messages.hidden = true; return; }
    const title = document.createElement("p");
    title.textContent = heading;
    const list = document.createElement("ul");
    reasons.forEach((reason) => {
      const item = document.createElement("li");
      item.textContent = reason;
      list.append(item);
    });
    messages.append(title, list);
    messages.hidden = false;
  }

  function recount(column, change) {
    const count = column.querySelector("h2 .count");
    count.textContent = String(Number(count.textContent) + change);
  }

  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest(".case-card");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.id);
    card.classList.add("dragging");
    const targets = (card.closest(".board-column").dataset.targets || "").split(" ");
    columns().forEach((column) => {
      column.classList.toggle("allowed", targets.includes(column.dataset.phase));
    });
  });

  board.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    columns().forEach((column) => column.classList.remove("allowed", "over"));
    dragged = null;
  });

  board.addEventListener("dragover", (event) => {
    const column = event.target.closest(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    columns().forEach((other) => other.classList.toggle("over", other === column));
  });

  board.addEventListener("drop", async (event) => {
    const column = event.target.closest(".board-column");
    const card = dragged;
    if (!column || !card) return;
    event.preventDefault();
    const from = card.closest(".board-column");
    if (column === from) return;
    say(null);
    card.classList.add("pending");
    let answer;
    try {
      const response = await fetch(card.dataset.move, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "Accept": "application/json",
          "X-CSRFToken": board.dataset.csrf,
        },
        body: JSON.stringify({ target: column.dataset.phase, version: card.dataset.version,
                               comment: "" }),
      });
      answer = await response.json();
    } catch (error) {
      answer = { ok: false, errors: { _: board.dataset.failed } };
    }
    card.classList.remove("pending");
    if (answer.ok) {
      column.querySelector(".cards").prepend(card);
      card.dataset.version = answer.version;
      card.classList.remove("overdue");
      const marker = card.querySelector(".overdue-marker");
      if (marker) marker.remove();
      recount(from, -1);
      recount(column, 1);
    } else {
      const heading = board.dataset.refused.replace("{title}", card.dataset.title);
      say(heading, Object.values(answer.errors || {}));
      card.focus();
    }
  });
})();
