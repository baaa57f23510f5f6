/* Clientside callbacks of the dashboard page (a local file, so no inline script is needed). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  metrics: {
    /* The browser's IANA time zone, read once per page load. */
    timezone: function () {
      try {
        return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
      } catch (e) {
        return null;
      }
    },
    /* The language link keeps the current selection. */
    languageLink: function (search, lang) {
      const params = new URLSearchParams(search || "");
      params.set("lang", lang === "en" ? "ko" : "en");
      return "?" + params.toString();
    },
  },
});
