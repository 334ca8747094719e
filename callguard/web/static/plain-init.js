// Without GOV.UK Frontend (no `npm ci`), does the two things its error summary would:
// moves focus to the summary when a form comes back with errors, so a screen reader reads
// it first, and makes each of its links focus the field it names, not just scroll to it.
(function () {
  var summary = document.querySelector(".govuk-error-summary");
  if (!summary) {
    return;
  }
  summary.setAttribute("tabindex", "-1");
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) {
      return;
    }
    var field = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (field) {
      event.preventDefault();
      field.scrollIntoView();
      field.focus();
    }
  });
})();
