"""Component ids of the dashboard page, in one place (callbacks, tests and exports use them)."""

from __future__ import annotations

from typing import Final

URL: Final = "url"
TIMEZONE: Final = "viewer-timezone"  # dcc.Store: the browser's IANA time zone
LANG: Final = "page-lang"  # dcc.Store: "ko" / "en"
LATEST_SLOT: Final = "latest-slot"  # dcc.Store: newest slots seen, changes → redraw
REFRESH_INTERVAL: Final = "refresh-interval"

STATUS_BADGE: Final = "status-badge"
STATUS_BUTTON: Final = "status-button"  # the badge as a button: opens the failures popover
STATUS_POPOVER: Final = "status-popover"
STATUS_FAILURES: Final = "status-failures"  # the popover's body: recent failed slots
LANG_LINK: Final = "lang-link"
LOGOUT_LINK: Final = "logout-link"

RANGE_PRESET: Final = "range-preset"
DATE_RANGE: Final = "date-range"
GRANULARITY: Final = "granularity"
COMPARE_SWITCH: Final = "compare-switch"
COMPARE_MODE: Final = "compare-mode"
COMPARE_RANGE: Final = "compare-range"
COMPARE_OPTIONS: Final = "compare-options"

NOTES: Final = "page-notes"
LOAD_ERROR: Final = "load-error"
RETRY_BUTTON: Final = "retry-button"
CONTENT: Final = "metrics-content"
LOADING: Final = "metrics-loading"

# Export (the export feature registers its callbacks on these; see export_callbacks.py).
EXPORT_CSV_BUTTON: Final = "export-csv-button"
EXPORT_PDF_BUTTON: Final = "export-pdf-button"
EXPORT_DOWNLOAD: Final = "export-download"
EXPORT_STATUS: Final = "export-status"


def graph(metric_type: str) -> str:
    return f"graph-{metric_type}"


def card(metric_type: str) -> str:
    return f"card-{metric_type}"
