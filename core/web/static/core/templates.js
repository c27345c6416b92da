// The template editor's preview, drawn again when the administrator pauses typing.
// The "Preview" button does the same without script (the page is drawn by the server);
// this only posts the text being typed to the preview address and puts the answer in
// the sandboxed frame, and a problem (with its line) under the text.
(function () {
  const form = document.querySelector(".template-editor");
  if (!form || !window.fetch) return;
  const frame = document.querySelector(".template-preview iframe");
  const problem = form.querySelector("#e-body");
  const subject = document.querySelector(".template-preview .preview-subject");
  const text = document.querySelector(".template-preview .preview-text");
  const PAUSE = 700; // ms without typing before the preview is drawn
  let timer = null;
  let asked = 0;

  function show(message) {
    problem.textContent = message || "";
    problem.hidden = !message;
    const body = form.querySelector("[name='body']");
    if (message) body.setAttribute("aria-invalid", "true");
    else body.removeAttribute("aria-invalid");
  }

  async function redraw() {
    const number = ++asked;
    let answer;
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      answer = await response.json();
    } catch (error) {
      return; // the button still works
    }
    if (number !== asked) return; // a newer preview is on its way
    const errors = answer.errors || {};
    show(errors.body || errors.subject || errors.text_body || errors.record_id || "");
    if (!answer.html && !answer.subject && !answer.text) return;
    frame.srcdoc = answer.html;
    if (subject) subject.textContent = answer.subject || "";
    if (text) text.textContent = answer.text || "";
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(redraw, PAUSE);
  }

  form.querySelectorAll("[name='body'], [name='subject'], [name='text_body'], [name='other_id']")
    .forEach((input) => input.addEventListener("input", later));
  form.querySelector("[name='record_id']").addEventListener("change", redraw);
  if (!frame.getAttribute("srcdoc") && form.querySelector("[name='record_id']").value) redraw();
})();
