"""What an admin may write: conditions, rules, channels and report schedules, validated.

Pydantic models serve the CLI, the REST API (and its OpenAPI document) and the store's
``params`` column alike, so a rule means the same thing wherever it was made.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from alerts.types import AlertInputError
from db.metrics import METRIC_IDS
from db.models import AlertRule

Name = Annotated[str, Field(min_length=1, max_length=100)]
# Row ids are 32-bit in the store: a larger number can name nothing.
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Address = Annotated[str, Field(min_length=3, max_length=320)]


def _has_control_characters(value: Any) -> bool:
    if isinstance(value, str):
        return any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    if isinstance(value, dict):
        return any(_has_control_characters(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_control_characters(v) for v in value)
    return False


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _printable(cls, data: Any) -> Any:
        """Names, addresses and URLs are one line of text (no NUL, newline, escape...)."""
        if _has_control_characters(data):
            raise ValueError("text must not contain control characters")
        return data


class ThresholdCondition(_Strict):
    """The metric's value above (or below) ``value`` in each of the last ``slots`` slots."""

    type: Literal["threshold"] = "threshold"
    op: Literal["above", "below"] = "above"
    value: float = Field(ge=0, description="Threshold in the metric's unit (bytes for storage).")
    slots: int = Field(1, ge=1, le=168, description="Consecutive collected slots.")


class ChangeCondition(_Strict):
    """The average of the last ``days`` days against the ``days`` before, changed by more
    than ``percent`` (up, down or either)."""

    type: Literal["change"] = "change"
    percent: float = Field(gt=0, le=100_000)
    days: int = Field(7, ge=1, le=45)
    direction: Literal["both", "up", "down"] = "both"


class CollectionCondition(_Strict):
    """Collection failing: ``failed_slots`` consecutive failed slots, or no successful slot
    for ``no_success_hours`` hours (exactly one of the two)."""

    type: Literal["collection_failing"] = "collection_failing"
    failed_slots: int | None = Field(None, ge=1, le=168)
    no_success_hours: float | None = Field(None, gt=0, le=720)

    @model_validator(mode="after")
    def _exactly_one(self) -> CollectionCondition:
        if (self.failed_slots is None) == (self.no_success_hours is None):
            raise ValueError("give exactly one of failed_slots or no_success_hours")
        return self


class ForecastCondition(_Strict):
    """Storage capacity (STORAGE_CAPACITY_BYTES) reached within ``days`` days, by the
    forecast's robust (Theil–Sen) trend over the last 90 days of daily values."""

    type: Literal["storage_forecast"] = "storage_forecast"
    days: int = Field(30, ge=1, le=365)


Condition = Annotated[
    ThresholdCondition | ChangeCondition | CollectionCondition | ForecastCondition,
    Field(discriminator="type"),
]
CONDITION_ADAPTER: TypeAdapter[Condition] = TypeAdapter(Condition)
METRIC_CONDITIONS = ("threshold", "change")


class RuleDraft(_Strict):
    """A new rule (``channel_ids``: where its messages go)."""

    name: Name
    metric_type: str | None = None
    condition: Condition
    level: Literal["info", "warning", "critical"] = "warning"
    enabled: bool = True
    reminder_minutes: int | None = Field(
        None, ge=5, le=7 * 24 * 60, description="Re-send while it lasts, every N minutes."
    )
    language: Literal["ko", "en"] | None = Field(None, description="Default: DEFAULT_LANGUAGE.")
    channel_ids: list[RowId] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _metric_fits_condition(self) -> RuleDraft:
        fix_metric(self)
        return self


class RulePatch(_Strict):
    """Fields to change on a rule; the others stay as they are."""

    name: Name | None = None
    metric_type: str | None = None
    condition: Condition | None = None
    level: Literal["info", "warning", "critical"] | None = None
    enabled: bool | None = None
    reminder_minutes: int | None = Field(None, ge=5, le=7 * 24 * 60)
    language: Literal["ko", "en"] | None = None
    channel_ids: list[RowId] | None = Field(None, max_length=20)

    @model_validator(mode="after")
    def _null_only_where_it_means_something(self) -> RulePatch:
        """``metric_type: null`` (no metric) and ``reminder_minutes: null`` (no reminder)
        mean something; a null name, condition, level, state, language or channel list not."""
        for key in ("name", "condition", "level", "enabled", "language", "channel_ids"):
            if key in self.model_fields_set and getattr(self, key) is None:
                raise ValueError(f"{key} cannot be null")
        return self


def fix_metric(draft: RuleDraft) -> None:
    """Threshold/change need one of the six metrics; the storage forecast is about
    ``storage_bytes``; collection failing is about no metric."""
    kind = draft.condition.type
    if kind in METRIC_CONDITIONS:
        if draft.metric_type not in METRIC_IDS:
            raise ValueError(
                f"metric_type must be one of {', '.join(METRIC_IDS)} for a {kind} rule"
                + (f", not {draft.metric_type!r}" if draft.metric_type else "")
            )
    elif kind == "storage_forecast":
        if draft.metric_type not in (None, "storage_bytes"):
            raise ValueError("a storage_forecast rule is about storage_bytes only")
        draft.metric_type = "storage_bytes"
    elif draft.metric_type is not None:
        raise ValueError("a collection_failing rule has no metric_type")


def condition_of(rule: AlertRule) -> Condition:
    """The stored rule's condition as its model (``params`` were validated when written)."""
    return CONDITION_ADAPTER.validate_python({"type": rule.condition_type, **rule.params})


def condition_params(condition: Condition) -> dict[str, Any]:
    """What the store keeps in ``params`` (the type has its own column)."""
    return condition.model_dump(exclude={"type"}, exclude_none=True)


def draft_of(rule: AlertRule) -> RuleDraft:
    return RuleDraft(
        name=rule.name,
        metric_type=rule.metric_type,
        condition=condition_of(rule),
        level=rule.level,  # type: ignore[arg-type]
        enabled=rule.enabled,
        reminder_minutes=rule.reminder_minutes,
        language=rule.language,  # type: ignore[arg-type]
        channel_ids=[c.id for c in rule.channels],
    )


# --- channels ------------------------------------------------------------------------------
def check_address(value: str) -> str:
    _name, address = parseaddr(value)
    if "@" not in address or " " in address or address != value.strip():
        raise ValueError(f"not a mail address: {value!r}")
    return address


class ChannelDraft(_Strict):
    """Mail recipients (over the SMTP_* relay) or a JSON webhook."""

    name: Name
    kind: Literal["email", "webhook"]
    recipients: list[Address] = Field(default_factory=list, max_length=100)
    url: str | None = Field(None, max_length=2000)
    secret: str | None = Field(
        None, min_length=8, max_length=500, description="Signs the body (X-Signature-SHA256)."
    )
    timeout_seconds: float | None = Field(None, gt=0, le=120)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [check_address(v) for v in value]

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the webhook URL must be http:// or https:// with a host")
        return value

    @model_validator(mode="after")
    def _fields_of_kind(self) -> ChannelDraft:
        if self.kind == "email":
            if not self.recipients:
                raise ValueError("an email channel needs at least one recipient")
            if self.url or self.secret:
                raise ValueError("an email channel has no url or secret")
        else:
            if not self.url:
                raise ValueError("a webhook channel needs a url")
            if self.recipients:
                raise ValueError("a webhook channel has no recipients")
        return self


# --- report schedules ----------------------------------------------------------------------
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleDraft(_Strict):
    """Weekly on ``weekday`` (0 = Monday) or monthly on ``day_of_month`` (1–28), at
    ``time`` (HH:MM) in the organisation's zone (DEFAULT_TIMEZONE)."""

    name: Name
    frequency: Literal["weekly", "monthly"]
    weekday: int | None = Field(None, ge=0, le=6)
    day_of_month: int | None = Field(None, ge=1, le=28)
    time: str = Field("09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    recipients: list[Address] = Field(min_length=1, max_length=100)
    include_csv: bool = False
    language: Literal["ko", "en"] | None = None
    enabled: bool = True

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [check_address(v) for v in value]

    @model_validator(mode="after")
    def _day_of_frequency(self) -> ScheduleDraft:
        if self.frequency == "weekly":
            if self.weekday is None or self.day_of_month is not None:
                raise ValueError("a weekly schedule has a weekday (0 = Monday) and no day_of_month")
        elif self.day_of_month is None or self.weekday is not None:
            raise ValueError("a monthly schedule has a day_of_month (1–28) and no weekday")
        return self

    @property
    def hour(self) -> int:
        return int(self.time[:2])

    @property
    def minute(self) -> int:
        return int(self.time[3:])


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], data: Any) -> M:
    """Validate ``data`` into ``model``; raise ``AlertInputError`` with one readable line."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise AlertInputError(validation_message(exc)) from None


def parse_json(model: type[M], raw: bytes | str) -> M:
    """Validate a JSON body strictly (no "5" for 5, no extra fields): what the API accepts
    is exactly what its JSON Schema says, plus the rules a schema cannot express."""
    from pydantic import ValidationError

    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise AlertInputError(validation_message(exc)) from None


def validation_message(exc: Any) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
