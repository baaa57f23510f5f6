/* The page's answer to failed Dash requests (a local file: no inline script under the CSP).
 *
 * - 503 STORE_UNAVAILABLE (the store is down): show the page's own failure message
 *   (메트릭 데이터를 불러오는데 실패했습니다) with its retry button, hide the graphs. At the next
 *   successful request (the minute refresh, or the retry button) the graphs are drawn again,
 *   so the page recovers by itself once the store is back.
 * - 401 AUTH_REQUIRED (signed out elsewhere, session revoked or expired): reload, which
 *   leads to the sign-in form instead of a page that silently stops updating.
 */
(function () {
  "use strict";
  var LOAD_ERROR = "load-error";
  var CONTENT = "metrics-content";
  var RETRY = "retry-button";
  var original = window.fetch ? window.fetch.bind(window) : null;
  var failed = false;
  var retries = 0;

  function isDash(input) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    return url.indexOf("/_dash-") !== -1;
  }

  function setProps(id, props) {
    var api = window.dash_clientside && window.dash_clientside.set_props;
    if (!api || !document.getElementById("page-title")) {
      return false; // the layout itself did not load: the fallback banner says it
    }
    api(id, props);
    return true;
  }

  function banner(message) {
    if (document.getElementById("request-error-banner")) {
      return;
    }
    var box = document.createElement("div");
    box.id = "request-error-banner";
    box.className = "alert alert-danger d-flex align-items-center m-3";
    box.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.className = "me-3";
    text.textContent = message;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm btn-outline-danger";
    button.textContent = document.documentElement.lang === "en" ? "Retry" : "다시 시도";
    button.addEventListener("click", function () {
      window.location.reload();
    });
    box.appendChild(text);
    box.appendChild(button);
    document.body.insertBefore(box, document.body.firstChild);
  }

  function storeDown(message) {
    failed = true;
    if (!setProps(LOAD_ERROR, { is_open: true })) {
      banner(message);
      return;
    }
    setProps(CONTENT, { style: { display: "none" } });
  }

  function recovered() {
    if (!failed) {
      return;
    }
    failed = false;
    retries += 1;
    // The same path as the retry button: redraw graphs, cards and status.
    setProps(RETRY, { n_clicks: 1000000 + retries });
  }

  if (!original) {
    return;
  }
  window.fetch = function (input, init) {
    return original(input, init).then(function (response) {
      if (!isDash(input)) {
        return response;
      }
      if (response.status === 503 || response.status === 401) {
        response
          .clone()
          .json()
          .then(function (body) {
            if (body && body.code === "STORE_UNAVAILABLE") {
              storeDown(body.error);
            } else if (body && body.code === "AUTH_REQUIRED") {
              window.location.reload();
            }
          })
          .catch(function () {
            /* not our JSON error: Dash reports it itself */
          });
      } else if (response.ok) {
        recovered();
      }
      return response;
    });
  };
})();
