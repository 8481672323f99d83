/* The weekly summary's print button (no inline script). */
document.getElementById("print-button").addEventListener("click", function () { window.print(); });
