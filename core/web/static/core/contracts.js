// Contracts and billing runs without a round trip: "More rows" adds an empty instalment
// row and an instalment's "Remove" takes its row away here; the number of months shows
// only for a custom period and the collection day only for expected payments; a quick
// period of a run fills in its two days. Without script the buttons go through the
// server, which keeps what was typed, and the quick periods are links.
(function () {
  "use strict";
  document.querySelectorAll("form").forEach((form) => {
    const table = form.querySelector("table.instalment-rows");
    const template = form.querySelector("template.instalment-template");
    if (table && template) {
      const body = table.tBodies[0];
      let next = Number(table.dataset.next || body.rows.length);
      form.addEventListener("click", (event) => {
        const more = event.target.closest("button.more-instalments");
        const remove = event.target.closest("button.remove-instalment");
        if (more) {
          event.preventDefault();
          body.insertAdjacentHTML("beforeend", template.innerHTML.replaceAll("__index__", String(next)));
          next += 1;
          const first = body.rows[body.rows.length - 1].querySelector("input");
          if (first) first.focus();
        } else if (remove) {
          event.preventDefault();
          remove.closest("tr").remove();
        }
      });
    }

    [["period", "data-when-period"], ["collects", "data-when-collects"]].forEach(([name, attr]) => {
      const select = form.querySelector(`select[name='${name}']`);
      const parts = form.querySelectorAll(`[${attr}]`);
      if (!select || !parts.length) return;
      const show = () => parts.forEach((part) => { part.hidden = select.value !== part.getAttribute(attr); });
      select.addEventListener("change", show);
      show();
    });

    const start = form.querySelector("input[name='period_start']");
    const end = form.querySelector("input[name='period_end']");
    if (start && end) {
      form.querySelectorAll("a.quick-period").forEach((link) => {
        link.addEventListener("click", (event) => {
          event.preventDefault();
          start.value = link.dataset.start;
          end.value = link.dataset.end;
          start.dispatchEvent(new Event("change", {bubbles: true}));
        });
      });
    }
  });
})();
