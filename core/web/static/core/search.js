// Suggestions under the top bar's search box while the user types.
(function () {
  const box = document.querySelector("#global-search");
  if (!box) return;
  const list = document.querySelector("#global-search-list");
  let timer = null, last = "";
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const text = box.value.trim();
      if (text === last) return;
      last = text;
      if (text.length < 2) { list.replaceChildren(); return; }
      const response = await fetch(box.dataset.suggest + "?q=" + encodeURIComponent(text));
      if (!response.ok || box.value.trim() !== text) return;
      const hits = await response.json();
      list.replaceChildren(...hits.map((hit) => {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = hit.url;
        link.textContent = hit.label;
        const detail = document.createElement("span");
        detail.className = "muted";
        detail.textContent = hit.detail ? " " + hit.detail : "";
        item.append(link, detail);
        return item;
      }));
    }, 150);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && list.firstChild) {
      event.preventDefault();
      list.querySelector("a").focus();
    }
  });
})();
