// A new case's form shows the custom fields of its process: choosing another process
// sends the form back to show that process's fields, keeping what was typed. Without
// script, saving after the change shows them (and saves nothing yet).
(function () {
  "use strict";
  const form = document.querySelector("form.case-form[data-process-fields]");
  const process = form && form.querySelector("select[name='process_key']");
  if (!process) return;
  process.addEventListener("change", () => {
    const action = document.createElement("input");
    action.type = "hidden";
    action.name = "action";
    action.value = "fields";
    form.append(action);
    form.submit();
  });
})();
