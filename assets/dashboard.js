/* Clientside callbacks and keyboard helpers of the dashboard page (a local file, so no
   inline script is needed and the CSP's script-src 'self' holds). */
(function () {
  "use strict";
  const noUpdate = () => window.dash_clientside.no_update;

  /* "2025-11-02 10:23:45.12" (a plotly date-axis value) → "2025-11-02T10:23". */
  function minute(value) {
    return String(value).replace(" ", "T").slice(0, 16);
  }

  /* The vertical hover line mirrored on the other graphs (Grafana's shared crosshair). */
  function showLines(source, x) {
    document.querySelectorAll(".metric-graph .js-plotly-plot").forEach((gd) => {
      if (gd === source || !gd._fullLayout || !gd._fullLayout.xaxis) return;
      const layout = gd._fullLayout;
      let line = gd.querySelector(".shared-hover-line");
      if (!line) {
        line = document.createElement("div");
        line.className = "shared-hover-line";
        line.setAttribute("aria-hidden", "true");
        gd.appendChild(line);
      }
      const px = layout.xaxis.d2p(x);
      if (!Number.isFinite(px) || px < 0 || px > layout._size.w) {
        line.style.display = "none";
        return;
      }
      line.style.left = layout._size.l + px + "px";
      line.style.top = layout._size.t + "px";
      line.style.height = layout._size.h + "px";
      line.style.display = "block";
    });
  }

  function hideLines() {
    document.querySelectorAll(".shared-hover-line").forEach((l) => (l.style.display = "none"));
  }

  /* One tab stop per graph toolbar: the first tool is reachable, the arrow keys move on. */
  function rovingModebar(root) {
    root.querySelectorAll(".modebar").forEach((bar) => {
      if (bar.dataset.roving) return;
      bar.dataset.roving = "1";
      bar.setAttribute("role", "toolbar");
      const buttons = () => Array.from(bar.querySelectorAll(".modebar-btn"));
      buttons().forEach((b, i) => {
        b.setAttribute("tabindex", i === 0 ? "0" : "-1");
        b.setAttribute("role", "button");
        if (!b.getAttribute("aria-label")) {
          b.setAttribute("aria-label", b.getAttribute("data-title") || "");
        }
      });
      bar.addEventListener("keydown", (e) => {
        const list = buttons();
        const at = list.indexOf(document.activeElement);
        if (at < 0) return;
        if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
          const next = list[(at + (e.key === "ArrowRight" ? 1 : list.length - 1)) % list.length];
          list.forEach((b) => b.setAttribute("tabindex", "-1"));
          next.setAttribute("tabindex", "0");
          next.focus();
          e.preventDefault();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    // The pickers take the first locale date-fns has: Korean names on the Korean page only
    // (assets/vendor/date-fns-locale-ko.js loads on both).
    if (document.documentElement.lang !== "ko" && window.dateFns && window.dateFns.locale) {
      delete window.dateFns.locale.ko;
    }
  });

  /* Dash 4's date pickers put aria-expanded on a plain wrapper div (not allowed there by
     ARIA; axe: aria-allowed-attr); the popup itself is a labelled dialog, so it is dropped. */
  function dropWrapperExpanded(root) {
    root.querySelectorAll(".dash-datepicker-input-wrapper[aria-expanded]").forEach((el) =>
      el.removeAttribute("aria-expanded"));
  }
  new MutationObserver((changes) => {
    changes.forEach((c) => dropWrapperExpanded(c.target.parentNode || document));
  }).observe(document.documentElement, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["aria-expanded"],
  });

  document.addEventListener("keydown", (e) => {
    // Enter presses the button-group radios and the switch, like Space does.
    const el = e.target;
    if (e.key === "Enter" && el instanceof HTMLInputElement &&
        (el.type === "radio" || el.type === "checkbox")) {
      el.click();
      e.preventDefault();
    }
  });

  document.addEventListener("change", (e) => {
    // "직접 선택" / "Custom" opens the date picker of the range.
    const el = e.target;
    if (el instanceof HTMLInputElement && el.type === "radio" && el.value === "custom" &&
        el.closest("#range-preset")) {
      const input = document.getElementById("date-range-start");
      if (input) {
        input.focus();
        input.click();
      }
    }
  });

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
      /* The theme: remembered (cookie) or the browser's colour scheme; the toggle flips it. */
      theme: function (clicks, stored) {
        const root = document.documentElement;
        let theme = stored || root.getAttribute("data-bs-theme") || "light";
        if (clicks) {
          theme = root.getAttribute("data-bs-theme") === "dark" ? "light" : "dark";
          document.cookie = "theme=" + theme + "; path=/; max-age=31536000; SameSite=Lax";
        }
        root.setAttribute("data-bs-theme", theme);
        return theme;
      },
      /* Phones: the controls open behind one button. */
      toggleControls: function (clicks, open) {
        if (!clicks) return [noUpdate(), noUpdate()];
        return [!open, String(!open)];
      },
      /* A zoom or pan on any graph sets zoom_start/zoom_end in the URL (so all six graphs
         follow, and back returns); a double-click (autorange) removes them. */
      zoom: function () {
        const args = Array.from(arguments);
        const search = args.pop();
        const triggered = window.dash_clientside.callback_context.triggered;
        if (!triggered || !triggered.length) return noUpdate();
        const ev = triggered[0].value;
        if (!ev) return noUpdate();
        const params = new URLSearchParams(search || "");
        let a = ev["xaxis.range[0]"];
        let b = ev["xaxis.range[1]"];
        if (a === undefined && Array.isArray(ev["xaxis.range"])) {
          [a, b] = ev["xaxis.range"];
        }
        if (a !== undefined && b !== undefined) {
          params.set("zoom_start", minute(a));
          params.set("zoom_end", minute(b));
        } else if (ev["xaxis.autorange"]) {
          params.delete("zoom_start");
          params.delete("zoom_end");
        } else {
          return noUpdate();
        }
        const query = "?" + params.toString();
        return query === (search || "") || query === "?" && !search ? noUpdate() : query;
      },
      /* Wires the shared hover line and the toolbar's keyboard use once per graph. */
      linkGraphs: function () {
        document.querySelectorAll(".metric-graph .js-plotly-plot").forEach((gd) => {
          rovingModebar(gd);
          if (gd.dataset.linked || !gd.on) return;
          gd.dataset.linked = "1";
          gd.on("plotly_hover", (ev) => {
            const x = ev && ev.points && ev.points.length ? ev.points[0].x : null;
            if (x !== null) showLines(gd, x);
          });
          gd.on("plotly_unhover", hideLines);
          gd.on("plotly_afterplot", () => rovingModebar(gd));
        });
        return noUpdate();
      },
    },
  });
})();
