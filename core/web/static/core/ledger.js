// The billing forms without a round trip: "More lines" adds an empty line row and a
// line's "Remove" takes its row away here; the kind of invoice shows the advance
// invoices only for a final one; choosing a payer shows their open invoices. Without
// script the same buttons do it through the server, which keeps what was typed.
(function () {
  document.querySelectorAll("form").forEach((form) => {
    const table = form.querySelector("table.line-rows");
    const template = form.querySelector("template.line-template");
    if (table && template) {
      const body = table.tBodies[0];
      let next = Number(table.dataset.next || body.rows.length);

      form.addEventListener("click", (event) => {
        const more = event.target.closest("button.more-lines");
        const remove = event.target.closest("button.remove-line");
        if (more) {
          event.preventDefault();
          const html = template.innerHTML.replaceAll("__index__", String(next));
          next += 1;
          body.insertAdjacentHTML("beforeend", html);
          const added = body.rows[body.rows.length - 1];
          const first = added.querySelector("input[name$='-description']");
          if (first) first.focus();
        } else if (remove) {
          event.preventDefault();
          const row = remove.closest("tr");
          body.querySelectorAll(`tr[data-index='${row.dataset.index}']`).forEach((r) => r.remove());
          if (!body.querySelector("tr.line")) form.querySelector("button.more-lines").click();
        }
      });
    }

    const kind = form.querySelector("select[name='kind']");
    const advances = form.querySelector("fieldset.advances[data-kind]");
    if (kind && advances) {
      const show = () => { advances.hidden = kind.value !== advances.dataset.kind; };
      kind.addEventListener("change", show);
      show();
    }

    const refresh = form.querySelector("button.refresh-invoices");
    const payer = form.querySelector("select[name='buyer']");
    if (refresh && payer) {
      payer.addEventListener("change", () => refresh.click());
    }
  });
})();
