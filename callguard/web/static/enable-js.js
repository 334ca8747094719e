// Runs first in <body>: lets GOV.UK Frontend's styles know that JavaScript is available.
document.body.classList.add("js-enabled");
if ("noModule" in HTMLScriptElement.prototype) {
  document.body.classList.add("govuk-frontend-supported");
}
