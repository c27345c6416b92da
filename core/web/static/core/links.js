// The card's add-a-link form: names of records of the chosen kind offered as the user
// types; choosing one sends its id. Without script the typed name is looked up.
(function () {
  document.querySelectorAll("form.add-link").forEach((form) => {
    const box = form.querySelector("[name=target]");
    const kind = form.querySelector("[name=target_type]");
    const list = form.querySelector(".suggestions");
    const chosen = () => form.querySelector("[name=target_id]");
    let timer = null, last = "";
    const forget = () => { chosen().value = ""; };
    kind.addEventListener("change", () => { forget(); last = ""; list.replaceChildren(); });
    box.addEventListener("input", () => {
      forget();
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const text = box.value.trim();
        if (text === last) return;
        last = text;
        if (text.length < 2) { list.replaceChildren(); return; }
        const query = new URLSearchParams({type: kind.value, q: text,
          exclude_type: form.dataset.excludeType, exclude_id: form.dataset.excludeId});
        const response = await fetch(form.dataset.find + "?" + query);
        if (!response.ok || box.value.trim() !== text) return;
        const hits = await response.json();
        list.replaceChildren(...hits.map((hit) => {
          const item = document.createElement("li");
          const pick = document.createElement("button");
          pick.type = "button";
          pick.className = "secondary";
          pick.textContent = hit.label;
          pick.addEventListener("click", () => {
            box.value = hit.label;
            last = hit.label;
            const field = chosen();
            if (field.tagName === "SELECT" && !field.querySelector(`option[value="${hit.id}"]`)) {
              field.append(new Option(hit.label, hit.id));
            }
            field.value = hit.id;
            list.replaceChildren();
            box.focus();
          });
          const detail = document.createElement("span");
          detail.className = "muted";
          detail.textContent = hit.detail || "";
          item.append(pick, detail);
          return item;
        }));
      }, 150);
    });
  });
})();
