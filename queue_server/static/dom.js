/* Small DOM helpers shared by the kiosk, counter and display pages.
 * Text from the server goes in as text, never as markup. */
(function () {
  "use strict";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** Set text only when it changed: live updates must not restart CSS animations. */
  function setText(node, text) {
    const value = text === undefined || text === null ? "" : String(text);
    if (node.textContent !== value) node.textContent = value;
  }

  function setAvailable(button, available) {
    button.disabled = !available;
    button.setAttribute("aria-disabled", String(!available));
  }

  window.AntrianDom = Object.freeze({ el, setText, setAvailable });
})();
