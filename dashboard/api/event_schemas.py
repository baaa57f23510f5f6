"""Schemas of the events resource of API v1 (``/events``): the strict request bodies, the
range query and the responses (for the OpenAPI document and the tests).

Bodies are parsed strictly (no "5" for 5, no unknown field); times need an offset. The rules
a schema cannot express (end not before start, the years an event may lie in) are the
store's (``db.events``), so the API and the command line refuse the same events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from dashboard.api.schemas import Timestamp, ValidationSettings, query_window
from db.events import MAX_DESCRIPTION, MAX_TITLE

EventKind = Literal["maintenance", "release", "incident", "other"]
AnyEventKind = Literal["maintenance", "release", "incident", "other", "outage", "alert"]


class EventsQuery(BaseModel):
    """``GET /events``: events overlapping ``[start, end)``, by start."""

    model_config = ConfigDict(extra="ignore")

    start: Timestamp | None = Field(
        None,
        description="Range start, inclusive (ISO 8601 with offset). Default: the page's "
        "'7 days' (168 hourly slots ending with the current one).",
    )
    end: Timestamp | None = Field(
        None, description="Range end, exclusive (ISO 8601 with offset). Default: see start."
    )
    automatic: bool = Field(
        True, description="Include collection outages and alert firings (`id` null)."
    )

    @model_validator(mode="after")
    def _window(self, info: ValidationInfo) -> EventsQuery:
        context = info.context
        if not isinstance(context, ValidationSettings):
            raise TypeError("validate API requests with context=ValidationSettings(...)")
        window = query_window(self.start, self.end, "hourly", context)
        if window.end <= window.start:
            raise PydanticCustomError("METRICS_INVALID_TIME_RANGE", "end must be after start")
        self.start, self.end = window.start, window.end
        return self

    @property
    def window(self) -> tuple[datetime, datetime]:
        assert self.start is not None and self.end is not None
        return self.start, self.end


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class EventDraft(_Strict):
    """``POST /events``: a new event (a point in time, or a range with ``end``)."""

    start: Timestamp = Field(description="When (ISO 8601 with offset).")
    end: Timestamp | None = Field(
        None, description="End of a range (ISO 8601 with offset, not before start); null: a point."
    )
    title: str = Field(min_length=1, max_length=MAX_TITLE, description="One line of text.")
    kind: EventKind
    description: str | None = Field(None, max_length=MAX_DESCRIPTION, description="Free text.")


class EventPatch(_Strict):
    """``PATCH /events/{event_id}``: the fields to change; the others stay."""

    start: Timestamp | None = None
    end: Timestamp | None = Field(None, description="null: the event becomes a point in time.")
    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE)
    kind: EventKind | None = None
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)

    @model_validator(mode="after")
    def _null_only_where_it_means_something(self) -> EventPatch:
        """``end: null`` (a point) and ``description: null`` (none) mean something; a null
        start, title or kind does not."""
        for key in ("start", "title", "kind"):
            if key in self.model_fields_set and getattr(self, key) is None:
                raise ValueError(f"{key} cannot be null")
        return self

    @property
    def changes(self) -> dict[str, object]:
        return {key: getattr(self, key) for key in self.model_fields_set}


class EventOut(BaseModel):
    id: int | None = Field(description="Null for an automatic event (read-only).")
    start: datetime = Field(description="UTC, ISO 8601 with offset, whole seconds.")
    end: datetime | None = Field(description="Null: a point in time (or an ongoing alert).")
    title: str = Field(
        description="An admin's title; an outage's most frequent error; an alert's rule name."
    )
    kind: AnyEventKind = Field(description="outage and alert are automatic.")
    description: str | None
    created_by: str | None = Field(description="The admin who recorded it.")
    automatic: bool
    slots: int | None = Field(description="An outage's failed hourly slots.")
    level: Literal["info", "warning", "critical"] | None = Field(
        description="An alert's rule level."
    )


class EventList(BaseModel):
    start: datetime
    end: datetime
    events: list[EventOut] = Field(description="Overlapping [start, end), by start.")
