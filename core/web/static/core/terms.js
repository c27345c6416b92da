// The terminology page's preview, redrawn from the forms while the administrator types.
// The server drew it first (and draws it again with "Preview"); this only follows the
// inputs. A form left empty is the default's while the noun is the default's (or the
// language is left empty), as core.terminology words it; for a new noun, the simple
// fallback of the nominative.
(function () {
  const form = document.querySelector(".term-form");
  if (!form) return;
  const SLOTS = ["m", "f", "n", "virile", "plural"];
  const gender = form.querySelector("[name='pl.gender']");

  function value(name) {
    const input = form.querySelector(`[name='${name}']`);
    return input ? input.value.trim() : "";
  }

  function fallback(name) {
    const input = form.querySelector(`[name='${name}']`);
    return input ? input.dataset.default || "" : "";
  }

  function keepsNoun(locale) {
    const noun = value(`${locale}.singular.nom`).toLowerCase();
    return !noun || noun === fallback(`${locale}.singular.nom`).trim().toLowerCase();
  }

  function word(locale, number, kase) {
    const name = locale === "en" ? `en.${number}.nom` : `pl.${number}.${kase}`;
    const own = value(name);
    if (own) return own;
    if (keepsNoun(locale)) return fallback(name);
    return value(`${locale}.${number}.nom`) || value(`${locale}.singular.nom`);
  }

  function adjective(forms, locale, plural) {
    const words = forms.split("|");
    if (words.length === 1) return words[0];
    const table = Object.fromEntries(SLOTS.map((slot, i) => [slot, words[i] || ""]));
    const g = locale === "pl" ? (gender.value || gender.dataset.default || "") : "";
    const order = plural ? (g === "m1" ? ["virile", "plural", "n"] : ["plural", "n"])
      : (g.startsWith("m") || !g ? ["m"] : [g]);
    return order.map((slot) => table[slot]).find(Boolean) || words[0];
  }

  function redraw() {
    form.closest("main").querySelectorAll(".preview").forEach((list) => {
      const locale = list.dataset.locale;
      list.querySelectorAll("li").forEach((line) => {
        const what = word(locale, line.dataset.number, line.dataset.case);
        if (!what) return;
        let text = line.dataset.pattern.replace("{what}", what);
        if (line.dataset.adjective) {
          text = adjective(line.dataset.adjective, locale, false) + " " + text;
          text = text.charAt(0).toUpperCase() + text.slice(1);
        }
        line.textContent = text;
      });
    });
  }

  form.addEventListener("input", redraw);
  form.addEventListener("change", redraw);
})();
