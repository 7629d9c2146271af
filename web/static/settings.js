// Settings page: the branding preview follows the colour input as it
// changes. The colour is set through the CSSOM, which the CSP allows
// (style="" attributes it does not).
(function () {
  "use strict";
  var input = document.getElementById("primary_color");
  var preview = document.getElementById("brand-preview");
  if (!input || !preview) return;
  function show() {
    if (/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(input.value)) preview.style.setProperty("--preview-brand", input.value);
  }
  input.addEventListener("input", show);
  input.addEventListener("change", show);
  show();
})();
