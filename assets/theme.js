/* The theme before the first paint, on the dashboard and on the sign-in page: the server
   writes data-bs-theme from the "theme" cookie; without it the browser's colour scheme
   (prefers-color-scheme) decides. A local file: the CSP's script-src 'self' holds. */
(function () {
  "use strict";
  const root = document.documentElement;
  if (!root.getAttribute("data-bs-theme")) {
    const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    root.setAttribute("data-bs-theme", dark ? "dark" : "light");
  }
})();
