"""Scheduled reports: when each is due, which period it covers, and sending it.

A schedule's occurrences are wall-clock times in the organisation's zone (DEFAULT_TIMEZONE):
every ``weekday`` at HH:MM (weekly) or every ``day_of_month`` at HH:MM (monthly). The leader
checks every minute; an occurrence is claimed with a conditional UPDATE of ``last_due_at``
(so it is sent once by one process), then the report is built by the report service (the
``Presenter`` from the composition root) and mailed through a stored delivery.

Periods: weekly — the 7 whole days before the occurrence's day (Monday 09:00 sends the
previous Monday 00:00 to this Monday 00:00), hourly; monthly — the previous calendar month,
daily. The PDF compares with the period of the same length just before.
"""

from __future__ import annotations

import email.policy
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from alerts.messages import FALLBACK_SENDER, period_label, report_email
from alerts.types import AlertConfig, Presenter, ReportRequest
from db import alerts as store
from db.engine import session_scope
from db.models import ReportSchedule

log = logging.getLogger(__name__)

# An occurrence missed while no leader ran is still sent if it is at most this late.
MISSED_GRACE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ScheduleTimes:
    """The fields of a schedule that say when it runs (no ORM object needed)."""

    frequency: str
    weekday: int | None
    day_of_month: int | None
    hour: int
    minute: int

    @classmethod
    def of(cls, schedule: ReportSchedule) -> ScheduleTimes:
        return cls(
            schedule.frequency,
            schedule.weekday,
            schedule.day_of_month,
            schedule.hour,
            schedule.minute,
        )


def _at(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def _month_before(day: date) -> date:
    return date(day.year - 1, 12, 1) if day.month == 1 else date(day.year, day.month - 1, 1)


def latest_occurrence(times: ScheduleTimes, now: datetime, tz: str) -> datetime:
    """The newest scheduled instant at or before ``now`` (aware, in ``tz``)."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    if times.frequency == "weekly":
        assert times.weekday is not None
        day = today - timedelta(days=(today.weekday() - times.weekday) % 7)
        candidate = _at(day, times.hour, times.minute, zone)
        if candidate > now:
            candidate = _at(day - timedelta(days=7), times.hour, times.minute, zone)
        return candidate
    assert times.day_of_month is not None
    day = today.replace(day=times.day_of_month)
    candidate = _at(day, times.hour, times.minute, zone)
    if candidate > now:
        candidate = _at(
            _month_before(today).replace(day=times.day_of_month), times.hour, times.minute, zone
        )
    return candidate


def next_occurrence(times: ScheduleTimes, now: datetime, tz: str) -> datetime:
    """The first scheduled instant after ``now``."""
    latest = latest_occurrence(times, now, tz)
    # A week later, or 31 days later (always inside the next month, before the one after).
    step = timedelta(days=7 if times.frequency == "weekly" else 31)
    return latest_occurrence(times, latest + step, tz)


def report_period(frequency: str, at: datetime, tz: str) -> tuple[datetime, datetime]:
    """The complete period a report sent at ``at`` covers, as aware local midnights."""
    zone = ZoneInfo(tz)
    today = at.astimezone(zone).date()
    if frequency == "weekly":
        end = _at(today, 0, 0, zone)
        return _at(today - timedelta(days=7), 0, 0, zone), end
    first = today.replace(day=1)
    return _at(_month_before(first), 0, 0, zone), _at(first, 0, 0, zone)


def report_request(
    schedule: ReportSchedule, at: datetime, config: AlertConfig, now: datetime
) -> ReportRequest:
    start, end = report_period(schedule.frequency, at, config.zone)
    return ReportRequest(
        start=start,
        end=end,
        granularity="hourly" if schedule.frequency == "weekly" else "daily",
        tz=config.zone,
        lang=schedule.language,  # type: ignore[arg-type]
        include_csv=schedule.include_csv,
        now=now,
    )


def build_report_delivery(
    sessions: sessionmaker[Session],
    schedule_id: int,
    *,
    at: datetime,
    config: AlertConfig,
    presenter: Presenter,
    now: datetime,
    manual: bool = False,
    max_attempts: int | None = None,
) -> int | None:
    """Build the report of the period before ``at`` and store its mail as a delivery.

    The files are built outside any transaction (PDF charts take seconds). A report that
    cannot be built is recorded as a failed delivery with the reason. None if the schedule
    is gone.
    """
    with session_scope(sessions) as session:
        schedule = store.get_schedule(session, schedule_id)
        if schedule is None:
            return None
        request = report_request(schedule, at, config, now)
        recipients = [r.strip() for r in schedule.recipients.split(",") if r.strip()]
        frequency, name = schedule.frequency, schedule.name
    sender = config.smtp.sender if config.smtp else FALLBACK_SENDER
    attempts = max_attempts or config.delivery_attempts
    try:
        files = presenter.build_report(request)
    except Exception as exc:  # noqa: BLE001 - recorded (history) and logged, never lost
        log.exception("Report %r could not be built", name)
        with session_scope(sessions) as session:
            delivery = store.add_delivery(
                session,
                purpose="report",
                kind="email",
                target=", ".join(recipients),
                subject=f"{name}: {period_label(request.start, request.end, request.tz)}",
                payload=b"",
                timeout_seconds=config.delivery_timeout,
                max_attempts=attempts,
                now=now,
                schedule_id=schedule_id,
            )
            store.finish_attempt(
                session,
                delivery.id,
                attempted_at=now,
                ok=False,
                error=f"report could not be built: {exc}",
                duration_ms=0,
                retry_at=None,
            )
            return delivery.id
    message = report_email(
        files,
        period=period_label(request.start, request.end, request.tz),
        frequency=frequency,
        lang=request.lang,
        sender=sender,
        recipients=recipients,
        config=config,
        now=now,
        manual=manual,
    )
    with session_scope(sessions) as session:
        delivery = store.add_delivery(
            session,
            purpose="report",
            kind="email",
            target=", ".join(recipients),
            subject=str(message["Subject"]),
            payload=message.as_bytes(policy=email.policy.SMTP),
            timeout_seconds=config.delivery_timeout,
            max_attempts=attempts,
            now=now,
            schedule_id=schedule_id,
        )
        log.info(
            "Report %r (%s – %s) queued for %d recipient(s)",
            name,
            request.start.isoformat(),
            request.end.isoformat(),
            len(recipients),
        )
        return delivery.id


def claim_due_reports(
    sessions: sessionmaker[Session], *, now: datetime, tz: str
) -> list[tuple[int, datetime]]:
    """Claim every occurrence that is due: after the schedule was made, not yet handled,
    at most ``MISSED_GRACE`` late. Returns ``(schedule id, occurrence)`` pairs won."""
    won: list[tuple[int, datetime]] = []
    with session_scope(sessions) as session:
        for schedule in store.list_schedules(session, enabled_only=True):
            occurrence = latest_occurrence(ScheduleTimes.of(schedule), now, tz)
            if occurrence < schedule.created_at or now - occurrence > MISSED_GRACE:
                continue
            if schedule.last_due_at is not None and occurrence <= schedule.last_due_at:
                continue
            if store.claim_report_occurrence(session, schedule.id, occurrence):
                won.append((schedule.id, occurrence))
    return won


def run_due_reports(
    sessions: sessionmaker[Session],
    config: AlertConfig,
    presenter: Presenter,
    *,
    now: datetime,
) -> list[int]:
    """Claim the due occurrences and queue their mails; returns the deliveries queued."""
    queued: list[int] = []
    for schedule_id, occurrence in claim_due_reports(sessions, now=now, tz=config.zone):
        delivery_id = build_report_delivery(
            sessions, schedule_id, at=occurrence, config=config, presenter=presenter, now=now
        )
        if delivery_id is not None:
            queued.append(delivery_id)
    return queued
