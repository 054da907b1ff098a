"use strict";
// The applicant's sheets (consent text, receipt): the print button.
document.getElementById("print").addEventListener("click", () => window.print());
