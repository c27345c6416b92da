// The main menu is a <details> that folds behind "Menu" on narrow screens. On wide
// screens kartoteka.css shows it unfolded with ::details-content; a browser that does
// not know that selector gets the menu opened here instead, while the screen is wide.
(function () {
  const menu = document.querySelector("details.menu");
  if (!menu || (window.CSS && CSS.supports("selector(::details-content)"))) return;
  const wide = window.matchMedia("(min-width: 60rem)");
  const follow = () => { menu.open = wide.matches; };
  wide.addEventListener("change", follow);
  follow();
})();
