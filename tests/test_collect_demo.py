"""The demo: simulated sources (the head office and a branch office) whose history is
back-filled through the real collection code."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from admin_metrics.settings import Settings
from collectors.demo import OUTAGES, in_outage, prepare_demo
from db.engine import make_engine, session_factory, session_scope
from db.metrics import METRIC_IDS
from db.migrate import upgrade
from db.models import MetricSnapshot
from db.periods import local_date, local_midnight

NOW = datetime(2026, 3, 4, 15, 20, tzinfo=UTC)  # a Wednesday, office hours in Korea are over


def stored(
    settings: Settings, source: str = "default", label: str = ""
) -> list[tuple[str, str, datetime, int]]:
    """The rows of one source's series with ``label`` (unlabelled: the six and the count)."""
    engine = make_engine(settings.store_url)
    try:
        with session_scope(session_factory(engine)) as session:
            rows = session.execute(
                select(
                    MetricSnapshot.granularity,
                    MetricSnapshot.metric_type,
                    MetricSnapshot.collected_at,
                    MetricSnapshot.value,
                ).where(MetricSnapshot.source == source, MetricSnapshot.label == label)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        engine.dispose()


def test_demo_backfills_history_with_gaps_and_reuses_it(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(metrics_hourly_retention_days=3, metrics_daily_retention_days=8)
    upgrade(settings.store_url)
    progress: list[tuple[int, int]] = []
    demo = prepare_demo(settings, now=NOW, progress=lambda d, t: progress.append((d, t)))

    assert demo.metrics_collection_enabled
    assert demo.source_database_url and demo.source_database_url.endswith("demo_source.db")
    assert Path(tmp_path / "var" / "demo_source.db").exists()
    assert progress and progress[-1][0] == progress[-1][1]

    rows = stored(demo)
    hourly = Counter(at for g, _m, at, _v in rows if g == "hourly")
    daily = Counter(at for g, _m, at, _v in rows if g == "daily")
    # Whole slots only: the six and the demo catalogue's conversations started per hour.
    assert set(hourly.values()) == {7} and set(daily.values()) == {7}

    current = NOW.replace(minute=0)
    first_day = datetime(2026, 3, 4, tzinfo=UTC)
    # Retention keeps the slot that contains "now − 3 days" (db.periods, issue 13).
    kept_from = (NOW - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    expected = {
        current - timedelta(hours=h)
        for h in range(0, 24 * 3 + 1)
        if current - timedelta(hours=h) >= kept_from
        and not in_outage(current - timedelta(hours=h), int(first_day.timestamp()))
    }
    assert set(hourly) == expected
    # The 4-hour outage two days ago (20:00-24:00) is a gap in the hourly series.
    assert datetime(2026, 3, 2, 21, tzinfo=UTC) not in hourly
    assert datetime(2026, 3, 2, 19, tzinfo=UTC) in hourly
    assert any(days == 2 for days, _h, _l in OUTAGES)
    # Daily rows for every complete business day (KST, stored at KST midnight) the daily
    # retention keeps: the day containing "now − 8 days" up to yesterday (issue 13).
    today = local_date(NOW, "Asia/Seoul")
    assert sorted(daily) == [
        local_midnight(today - timedelta(days=d), "Asia/Seoul") for d in range(8, 0, -1)
    ]

    latest = {m: v for g, m, at, v in rows if g == "hourly" and at == current}
    assert set(latest) == {*METRIC_IDS, "conversations_started"}
    # Conversations started per hour add up to at least the growth of the count (some are
    # deleted) over the last day.
    started = {at: v for g, m, at, v in rows if g == "hourly" and m == "conversations_started"}
    count = {at: v for g, m, at, v in rows if g == "hourly" and m == "conversation_count"}
    day_ago = current - timedelta(hours=24)
    day_started = sum(v for at, v in started.items() if day_ago < at <= current)
    assert day_started >= count[current] - count[day_ago] > 0
    assert latest["storage_bytes"] > 1_000_000_000  # GBs of documents
    assert latest["conversation_count"] > latest["document_count"] > latest["tag_count"] > 0
    assert latest["active_sessions"] >= latest["active_users"] > 0
    # Office hours in Korea (01:00-09:00 UTC) are busier than the night (15:00-20:00 UTC).
    sessions = {at: v for g, m, at, v in rows if g == "hourly" and m == "active_sessions"}
    day = datetime(2026, 3, 3, tzinfo=UTC)
    busy = max(sessions.get(day + timedelta(hours=h), 0) for h in range(1, 9))
    quiet = max(sessions.get(day + timedelta(hours=h), 0) for h in range(15, 20))
    assert busy > 2 * quiet

    # The branch office: the same slots, a smaller app; documents by department add up to
    # the documents of each source.
    branch = stored(demo, "branch_office")
    assert Counter(at for g, _m, at, _v in branch if g == "hourly") == hourly
    branch_latest = {m: v for g, m, at, v in branch if g == "hourly" and at == current}
    assert 0 < branch_latest["document_count"] < latest["document_count"] / 2
    for source, documents in (("default", latest), ("branch_office", branch_latest)):
        by_department = {
            label: v
            for label in ("개발", "영업", "인사", "재무")
            for g, m, at, v in stored(demo, source, label)
            if g == "hourly" and at == current and m == "documents_by_department"
        }
        assert len(by_department) == 4
        assert sum(by_department.values()) == documents["document_count"]

    # Re-running reuses everything; two hours later only two new slots are collected.
    again = prepare_demo(settings, now=NOW + timedelta(hours=2))
    later = Counter(at for g, _m, at, _v in stored(again) if g == "hourly")
    assert set(later) - set(hourly) == {current + timedelta(hours=1), current + timedelta(hours=2)}
