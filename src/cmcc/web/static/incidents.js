// Incident detail: the verification form keeps the incident's current release list, so that
// sending the form's marking (REL TO ...) does not narrow or widen the release by accident.
"use strict";
(function () {
  for (const form of document.querySelectorAll("form[data-release-to]")) {
    const to = form.elements.namedItem("releasability_to");
    if (to && !to.value) to.value = form.dataset.releaseTo;
  }
})();
