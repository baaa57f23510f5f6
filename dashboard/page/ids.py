"""Component ids of the dashboard page, in one place (callbacks, tests and exports use them)."""

from __future__ import annotations

from typing import Any, Final

URL: Final = "url"
TIMEZONE: Final = "viewer-timezone"  # dcc.Store: the browser's IANA time zone
LANG: Final = "page-lang"  # dcc.Store: "ko" / "en"
LATEST_SLOT: Final = "latest-slot"  # dcc.Store: newest slots seen, changes → redraw
REFRESH_INTERVAL: Final = "refresh-interval"
THEME: Final = "page-theme"  # dcc.Store: "light" / "dark" (cookie, else prefers-color-scheme)
THEME_TOGGLE: Final = "theme-toggle"
FRESHNESS: Final = "freshness"  # "updated HH:MM (N분 전)" beside the status light
CONTROLS_TOGGLE: Final = "controls-toggle"  # shown on phones: opens the controls
CONTROLS_COLLAPSE: Final = "controls-collapse"
HOVER_LINK: Final = "hover-link"  # dcc.Store written by nobody: the output of linkGraphs
# dcc.Store: what the six graphs' layouts are (keys); an unchanged one is not sent again.
GRAPH_LAYOUTS: Final = "graph-layouts"

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
SOURCE: Final = "source-select"  # shown when the store holds more than one source
SOURCE_GROUP: Final = "source-group"

# The catalogue's extra metrics: the section under the six, its chooser, a card per metric.
EXTRAS_SECTION: Final = "extras-section"
EXTRAS_CHOOSER: Final = "extras-chooser"
EXTRAS_NONE: Final = "extras-none"  # "choose the metrics to show"

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


# The per-graph "view as table" button and its table (pattern-matching ids).
TABLE_TOGGLE: Final = "table-toggle"
TABLE_VIEW: Final = "table-view"


def table_toggle(metric_type: Any) -> dict[str, Any]:
    return {"type": TABLE_TOGGLE, "metric": metric_type}


def table_view(metric_type: Any) -> dict[str, Any]:
    return {"type": TABLE_VIEW, "metric": metric_type}


def graph(metric_type: str) -> str:
    return f"graph-{metric_type}"


def card(metric_type: str) -> str:
    return f"card-{metric_type}"


def extra_card(metric_type: str) -> str:
    """An extra metric's card (hidden while the chooser leaves it out)."""
    return f"extra-{metric_type}"


def label_filter(metric_type: str) -> str:
    """A labelled metric's label filter."""
    return f"labels-{metric_type}"


# Alerts (the "알림 / Alerts" window opened from the header; see alert_callbacks.py).
ALERTS_OPEN: Final = "alerts-open"
ALERTS_MODAL: Final = "alerts-modal"
ALERTS_VERSION: Final = "alerts-version"  # dcc.Store: bumped after each change → redraw
ALERT_RULES: Final = "alert-rules"
ALERT_HISTORY: Final = "alert-history"
ALERT_FORM_TITLE: Final = "alert-form-title"
ALERT_EDIT_ID: Final = "alert-edit-id"  # dcc.Store: the rule being edited, or None
ALERT_NAME: Final = "alert-name"
ALERT_METRIC: Final = "alert-metric"
ALERT_CONDITION: Final = "alert-condition"
ALERT_OP: Final = "alert-op"
ALERT_VALUE: Final = "alert-value"
ALERT_SLOTS: Final = "alert-slots"
ALERT_PERCENT: Final = "alert-percent"
ALERT_DAYS: Final = "alert-days"
ALERT_DIRECTION: Final = "alert-direction"
ALERT_MODE: Final = "alert-mode"
ALERT_COUNT: Final = "alert-count"
ALERT_FORECAST_DAYS: Final = "alert-forecast-days"
ALERT_LEVEL: Final = "alert-level"
ALERT_REMINDER: Final = "alert-reminder"
ALERT_LANGUAGE: Final = "alert-language"
ALERT_CHANNELS: Final = "alert-channels"
ALERT_SAVE: Final = "alert-save"
ALERT_CLEAR: Final = "alert-clear"
ALERT_FEEDBACK: Final = "alert-feedback"
ALERT_CHANNEL_NAME: Final = "alert-channel-name"
ALERT_CHANNEL_KIND: Final = "alert-channel-kind"
ALERT_CHANNEL_TARGET: Final = "alert-channel-target"
ALERT_CHANNEL_SECRET: Final = "alert-channel-secret"
ALERT_CHANNEL_ADD: Final = "alert-channel-add"
ALERT_CHANNEL_FEEDBACK: Final = "alert-channel-feedback"
ALERT_EDIT_BUTTON: Final = "alert-edit-button"  # pattern-matching type, index = rule id
ALERT_TOGGLE_BUTTON: Final = "alert-toggle-button"


def condition_group(kind: str) -> str:
    """The form's fields of one condition kind (shown only for that kind)."""
    return f"alert-group-{kind}"


def aria(**attributes: str) -> dict[str, Any]:
    """``aria-*`` attributes for Dash components (``aria(label="…")`` → ``aria-label``)."""
    return {f"aria-{name}": value for name, value in attributes.items()}


# Events (annotations): the list under the graphs and its form (see event_callbacks.py).
EVENTS_LIST: Final = "events-list"
EVENTS_VERSION: Final = "events-version"  # dcc.Store: bumped after each change → redraw
EVENT_ADD: Final = "event-add"
EVENT_FORM: Final = "event-form"  # dbc.Collapse around the form
EVENT_FORM_TITLE: Final = "event-form-title"
EVENT_EDIT_ID: Final = "event-edit-id"  # dcc.Store: the event being edited, or None
EVENT_TITLE: Final = "event-title"
EVENT_KIND: Final = "event-kind"
EVENT_START: Final = "event-start"
EVENT_END: Final = "event-end"
EVENT_DESCRIPTION: Final = "event-description"
EVENT_SAVE: Final = "event-save"
EVENT_CANCEL: Final = "event-cancel"
EVENT_FEEDBACK: Final = "event-feedback"
EVENT_EDIT_BUTTON: Final = "event-edit-button"  # pattern-matching type, index = event id
EVENT_DELETE_BUTTON: Final = "event-delete-button"
