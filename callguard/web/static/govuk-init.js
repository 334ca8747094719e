// Starts GOV.UK Frontend's components (error summary focus, conditional reveals, menus).
import { initAll } from "/static/govuk/govuk-frontend.min.js";

initAll();
