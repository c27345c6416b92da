// The lists' "all on this page" box ticks and clears the rows' boxes, and follows them.
// Without it the server takes every row of the page when the box is ticked.
(function () {
  document.querySelectorAll("form.bulk").forEach((form) => {
    const all = form.querySelector("input[name='all']");
    const rows = Array.from(form.querySelectorAll("input[name='id']"));
    if (!all || !rows.length) return;
    all.addEventListener("change", () => rows.forEach((box) => { box.checked = all.checked; }));
    rows.forEach((box) => box.addEventListener("change", () => {
      all.checked = rows.every((b) => b.checked);
    }));
  });
})();
