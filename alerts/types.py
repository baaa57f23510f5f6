"""Value types and errors of the alerts feature: a leaf every other module imports.

Nothing here imports the rest of the package, the store or the web wing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

Purpose = Literal["firing", "resolved", "reminder", "report", "test"]
Level = Literal["info", "warning", "critical"]
Language = Literal["ko", "en"]


class AlertInputError(ValueError):
    """A rule, channel or schedule as given is wrong; ``str()`` is the message for the user
    (CLI: one line; API: the 400 answer). ``status`` is the HTTP status it maps to."""

    def __init__(self, message: str, *, status: int = 400, code: str = "ALERT_INVALID") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class DeliveryError(Exception):
    """A delivery attempt failed. ``permanent``: retrying cannot help (a 4xx answer, a
    refused recipient, a relay without STARTTLS) — the delivery is failed at once."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class ReportError(Exception):
    """The report files could not be built (the report service's own error, as text)."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What a rule's condition sees now. ``active`` None: cannot tell (no fresh data, a
    run of slots too short) — the rule's state does not change."""

    active: bool | None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: Literal["none", "starttls", "ssl"]
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """The settings the feature needs, as plain values (built by ``alerts.config``)."""

    smtp: SmtpConfig | None
    public_url: str | None
    delivery_timeout: float
    delivery_attempts: int
    storage_capacity_bytes: int | None
    zone: str
    default_language: Language
    slot_seconds: int = 3600
    hourly_retention_days: int = 30


# --- what the web wing supplies ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReportRequest:
    """One report: ``[start, end]`` (aware), its granularity, zone and language."""

    start: datetime
    end: datetime
    granularity: Literal["hourly", "daily"]
    tz: str
    lang: Language
    include_csv: bool
    now: datetime


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    media_type: str  # "application/pdf", "text/csv"


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """One metric in the mail body: its name, latest value and change, already formatted."""

    metric_type: str
    name: str
    latest: str
    change: str


@dataclass(frozen=True, slots=True)
class ReportFiles:
    attachments: tuple[Attachment, ...]
    summary: tuple[SummaryLine, ...]


class Presenter(Protocol):
    """Formatting and the PDF/CSV report service, from the composition root: the page's
    own functions, so a mail shows the numbers exactly as the dashboard and the PDF do."""

    def format_value(self, value: float | None, metric_type: str, lang: str) -> str: ...

    def format_change(self, change: float | None) -> str: ...

    def build_report(self, request: ReportRequest) -> ReportFiles:
        """Raise ``ReportError`` when the files cannot be built."""
        ...
