"""The reports' errors, without a dependency: the chart renderer raises them and the CLI
starts Chromium before pandas and plotly load (``types`` re-exports them for everyone else)."""

from __future__ import annotations


class ExportError(Exception):
    """The export could not be generated; ``str()`` is the reason for the log.

    Users see ``t("export.failed")`` (데이터 내보내기에 실패했습니다), never this text.
    """


class ExportTooLarge(ExportError):
    """Even the strongest LTTB reduction does not fit ``EXPORT_MAX_BYTES`` (API: 413)."""


class InvalidExportSpec(ValueError):
    """The request itself is wrong (unknown metric, end ≤ start, ...): a 400, not a failure."""
