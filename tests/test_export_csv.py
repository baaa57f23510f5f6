"""CSV exports through the one export service, on real PostgreSQL and SQLite."""

from __future__ import annotations

import csv
import io
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from admin_metrics.settings import Settings
from dashboard.reports.csv_export import csv_bytes, fit_csv, wide_table
from dashboard.reports.export_service import create_export, render_export
from dashboard.reports.types import ExportSpec, ExportTooLarge, InvalidExportSpec, export_filename
from db import events
from db.exports import get_export
from db.metrics import METRIC_IDS
from db.queries import timeseries_many
from tests.support import GAP_HOURS, HOURS, T0, seed_hourly, stored_value

BOM = b"\xef\xbb\xbf"
# The installed entry point (``python -m admin_metrics.cli`` would not load feature commands).
CLI = str(Path(sys.executable).parent / "admin-metrics")
END = T0 + timedelta(hours=HOURS)  # half-open [T0, END): all HOURS slots

MAX_BYTES: int = Settings.model_fields["export_max_bytes"].default  # EXPORT_MAX_BYTES


def _spec(**overrides: Any) -> ExportSpec:
    values: dict[str, Any] = {
        "metric_types": METRIC_IDS,
        "start": T0,
        "end": END,
        "granularity": "hourly",
        "fmt": "csv",
        "tz": "UTC",
    }
    values.update(overrides)
    return ExportSpec(**values)


def _read(content: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str, keep_default_na=False)


@pytest.fixture
def seeded(store_sessions: Any) -> Any:
    with store_sessions() as session:
        seed_hourly(session)
    return store_sessions


def test_csv_has_bom_korean_headers_and_exactly_the_stored_values(seeded, make_settings) -> None:  # type: ignore[no-untyped-def]
    with seeded() as session:
        result = render_export(session, _spec(), max_bytes=MAX_BYTES)
    assert result.content.startswith(BOM)
    assert result.filename.startswith("metrics_") and result.filename.endswith(".csv")
    assert result.downsampled is False
    table = _read(result.content)
    assert list(table.columns) == [
        "시각 (UTC)",
        "활성 사용자 (명)",
        "저장 공간 (bytes)",
        "활성 세션 (개)",
        "대화 수 (개)",
        "문서 수 (개)",
        "태그 수 (개)",
    ]
    assert len(table) == HOURS  # one row per slot, the failed slots included
    for hour in range(HOURS):
        row = table.iloc[hour]
        assert row.iloc[0] == (T0 + timedelta(hours=hour)).isoformat()
        for index in range(len(METRIC_IDS)):
            expected = "" if hour in GAP_HOURS else str(stored_value(index, hour))
            assert row.iloc[index + 1] == expected, (hour, METRIC_IDS[index])


def test_csv_gaps_are_blank_cells(seeded, make_settings) -> None:  # type: ignore[no-untyped-def]
    with seeded() as session:
        content = render_export(session, _spec(), max_bytes=MAX_BYTES).content
    lines = content.decode("utf-8-sig").splitlines()
    gap_line = lines[1 + GAP_HOURS[0]]
    assert gap_line == (T0 + timedelta(hours=GAP_HOURS[0])).isoformat() + "," * len(METRIC_IDS)


def test_csv_timestamps_carry_the_offset_of_the_requested_zone(seeded, make_settings) -> None:  # type: ignore[no-untyped-def]
    with seeded() as session:
        utc = _read(render_export(session, _spec(tz="UTC"), max_bytes=MAX_BYTES).content)
        seoul = _read(render_export(session, _spec(tz="Asia/Seoul"), max_bytes=MAX_BYTES).content)
    assert utc.columns[0] == "시각 (UTC)" and seoul.columns[0] == "시각 (Asia/Seoul)"
    assert utc.iloc[0, 0] == "2025-11-01T00:00:00+00:00"
    assert seoul.iloc[0, 0] == "2025-11-01T09:00:00+09:00"
    assert seoul.iloc[15, 0] == "2025-11-02T00:00:00+09:00"  # the date turns over in Seoul
    # The same instants, only written in another zone.
    pd.testing.assert_series_equal(
        pd.to_datetime(utc.iloc[:, 0], utc=True),
        pd.to_datetime(seoul.iloc[:, 0], utc=True),
        check_names=False,
    )
    pd.testing.assert_frame_equal(utc.iloc[:, 1:], seoul.iloc[:, 1:])


def test_naive_range_is_read_in_the_export_zone(seeded, make_settings) -> None:  # type: ignore[no-untyped-def]
    # [09:00, 12:00) in Seoul is 00:00–02:00 UTC: three slots (half-open).
    spec = _spec(start=datetime(2025, 11, 1, 9), end=datetime(2025, 11, 1, 12), tz="Asia/Seoul")
    with seeded() as session:
        table = _read(render_export(session, spec, max_bytes=MAX_BYTES).content)
    assert list(table.iloc[:, 0]) == [
        "2025-11-01T09:00:00+09:00",
        "2025-11-01T10:00:00+09:00",
        "2025-11-01T11:00:00+09:00",
    ]


def test_csv_in_english(seeded, make_settings) -> None:  # type: ignore[no-untyped-def]
    spec = _spec(metric_types=("storage_bytes", "tag_count"), lang="en")
    with seeded() as session:
        table = _read(render_export(session, spec, max_bytes=MAX_BYTES).content)
    assert list(table.columns) == ["Timestamp (UTC)", "Storage (bytes)", "Tags (tags)"]


def test_tiny_size_cap_downsamples_until_it_fits_and_logs_both_lines(  # type: ignore[no-untyped-def]
    store_sessions, make_settings, caplog
) -> None:
    with store_sessions() as session:
        seed_hourly(session, hours=30 * 24, gaps=())
    spec = _spec(end=T0 + timedelta(days=30))
    settings = make_settings(export_max_bytes=4096)
    with (
        caplog.at_level(logging.INFO, logger="dashboard.reports.csv_export"),
        store_sessions() as session,
    ):
        result = render_export(session, spec, max_bytes=settings.export_max_bytes)
    assert result.downsampled is True
    assert len(result.content) <= 4096
    assert result.content.startswith(BOM)
    messages = [r.getMessage() for r in caplog.records]
    too_big = [m for m in messages if m.startswith("CSV 크기 초과 (")]
    assert too_big and too_big[0].endswith(" bytes), 다운샘플링 적용")
    assert int(too_big[0].split("(")[1].split()[0]) > 4096
    table = _read(result.content)
    assert f"다운샘플링 완료: {30 * 24} -> {len(table)} 행" in messages
    # Every kept row still carries the real stored values of its slot; both ends are kept.
    stamps = pd.to_datetime(table.iloc[:, 0], utc=True)
    hours = ((stamps - pd.Timestamp(T0)) / pd.Timedelta(hours=1)).astype(int)
    assert hours.iloc[0] == 0 and hours.iloc[-1] == 30 * 24 - 1
    for row, hour in zip(table.itertuples(index=False), hours, strict=True):
        assert [int(v) for v in row[1:]] == [stored_value(i, hour) for i in range(6)]


def test_export_too_large_when_even_the_strongest_reduction_does_not_fit(seeded) -> None:  # type: ignore[no-untyped-def]
    with seeded() as session:
        frames = timeseries_many(session, METRIC_IDS, "hourly", T0, END)
    with pytest.raises(ExportTooLarge):
        fit_csv(wide_table(frames, "hourly"), tz="UTC", lang="ko", max_bytes=200)


def test_empty_range_gives_a_header_only_file(store_sessions, make_settings) -> None:  # type: ignore[no-untyped-def]
    with store_sessions() as session:
        content = render_export(session, _spec(), max_bytes=MAX_BYTES).content
    header = (
        "시각 (UTC),활성 사용자 (명),저장 공간 (bytes),활성 세션 (개),대화 수 (개),문서 수 (개)"
    )
    assert content.decode("utf-8-sig").splitlines() == [header + ",태그 수 (개)"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"metric_types": ("active_users", "bogus")}, "unknown metric: bogus"),
        ({"metric_types": ()}, "at least one metric"),
        ({"end": T0}, "end must be after start"),
        ({"granularity": "weekly"}, "granularity"),
        ({"fmt": "xlsx"}, "format"),
        ({"tz": "Mars/Base"}, "time zone"),
        ({"lang": "fr"}, "language"),
    ],
)
def test_spec_rejects_bad_input_with_a_clear_message(overrides, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidExportSpec, match=message):
        _spec(**overrides)


def test_spec_accepts_comma_separated_metrics() -> None:
    assert _spec(metric_types="active_users, tag_count").metric_types == (
        "active_users",
        "tag_count",
    )


def test_file_name_carries_the_granularity_and_the_period() -> None:
    # Issue 13: the name says what is inside (the half-open end's last day), not when it was
    # generated.
    week = _spec(
        start=datetime(2026, 11, 26, 10, tzinfo=UTC),
        end=datetime(2026, 12, 3, 10, tzinfo=UTC),
        tz="Asia/Seoul",
    )
    assert export_filename(week) == "metrics_hourly_2026-11-26_2026-12-03.csv"
    days = _spec(
        start=datetime(2026, 11, 25, 15, tzinfo=UTC),
        end=datetime(2026, 12, 2, 15, tzinfo=UTC),
        granularity="daily",
        fmt="pdf",
        tz="Asia/Seoul",
    )
    assert export_filename(days) == "metrics_daily_2026-11-26_2026-12-02.pdf"


def test_export_range_limit_is_90_days_for_everyone() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    _spec(start=start, end=start + timedelta(days=90))
    with pytest.raises(InvalidExportSpec, match="over 90 days"):
        _spec(start=start, end=start + timedelta(days=93))


def test_compare_mode_csv_has_a_second_block_for_the_comparison() -> None:
    frames = {
        "tag_count": pd.DataFrame(
            {
                "timestamp": pd.DatetimeIndex([T0, T0 + timedelta(days=1)]).astype(
                    "datetime64[ns, UTC]"
                ),
                "value": pd.array([3, 4], dtype="int64"),
            }
        )
    }
    before = {
        "tag_count": pd.DataFrame(
            {
                "timestamp": pd.DatetimeIndex([T0 - timedelta(days=2)]).astype(
                    "datetime64[ns, UTC]"
                ),
                "value": pd.array([1], dtype="int64"),
            }
        )
    }
    text = csv_bytes(
        wide_table(frames, "daily"),
        tz="UTC",
        lang="en",
        granularity="daily",
        compare=wide_table(before, "daily"),
    ).decode("utf-8-sig")
    assert text.split("\r\n") == [
        "Date (UTC),Tags (tags)",
        "2025-11-01,3",
        "2025-11-02,4",
        "",
        "Comparison period Date (UTC),Tags (tags)",
        "2025-10-30,1",
        "",
    ]


def test_csv_bytes_keep_large_integers_exact() -> None:
    frames = {
        "storage_bytes": pd.DataFrame(
            {
                "timestamp": pd.DatetimeIndex([T0, T0 + timedelta(hours=2)]).astype(
                    "datetime64[ns, UTC]"
                ),
                "value": pd.array([9_007_199_254_740_993, 1], dtype="int64"),  # 2**53 + 1
            }
        )
    }
    lines = csv_bytes(wide_table(frames, "hourly"), tz="UTC", lang="en").decode("utf-8-sig")
    assert lines.splitlines()[1:] == [
        "2025-11-01T00:00:00+00:00,9007199254740993",
        "2025-11-01T01:00:00+00:00,",
        "2025-11-01T02:00:00+00:00,1",
    ]


def test_create_export_stores_the_file_until_it_expires(app, store_url) -> None:  # type: ignore[no-untyped-def]
    from dashboard.context import get_context
    from db.engine import make_engine, session_factory, session_scope

    ctx = get_context(app)
    with ctx.session() as session:
        seed_hourly(session)
    now = datetime.now(UTC)
    row = create_export(
        ctx.sessions,
        _spec(),
        max_bytes=ctx.settings.export_max_bytes,
        ttl_seconds=ctx.settings.export_ttl_seconds,
        user_id=None,
        now=now,
    )
    assert row.format == "csv" and row.size_bytes == len(row.content) and not row.downsampled
    assert row.expires_at == now + timedelta(seconds=ctx.settings.export_ttl_seconds)
    # Another engine (think: another worker or replica) serves it, until it expires.
    engine = make_engine(store_url)
    try:
        with session_scope(session_factory(engine)) as session:
            stored = get_export(session, row.id)
            assert stored is not None and stored.content.startswith(BOM)
            later = now + timedelta(seconds=ctx.settings.export_ttl_seconds + 1)
            assert get_export(session, row.id, now=later) is None
    finally:
        engine.dispose()


def test_cli_export_writes_a_csv_file(sqlite_url: str, tmp_path: Path) -> None:
    from db.engine import make_engine, session_factory, session_scope

    engine = make_engine(sqlite_url)
    with session_scope(session_factory(engine)) as session:
        seed_hourly(session)
    engine.dispose()
    out = tmp_path / "report.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "EXPORT_"))}
    env["DATABASE_URL"] = sqlite_url
    proc = subprocess.run(
        [
            CLI,
            "export",
            "--format",
            "csv",
            "--metrics",
            "active_users,tag_count",
            "--from",
            "2025-11-01T09:00:00+09:00",
            "--to",
            "2025-11-01T13:00",  # half-open: up to and including the 12:00 slot
            "--granularity",
            "hourly",
            "--tz",
            "Asia/Seoul",
            "-o",
            str(out),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"Wrote {out}" in proc.stdout
    table = _read(out.read_bytes())
    assert list(table.columns) == ["시각 (Asia/Seoul)", "활성 사용자 (명)", "태그 수 (개)"]
    assert list(table.iloc[:, 0]) == [f"2025-11-01T{h:02d}:00:00+09:00" for h in (9, 10, 11, 12)]
    assert list(table.iloc[:, 1]) == [str(stored_value(0, h)) for h in range(4)]


def test_cli_export_rejects_an_unknown_metric(sqlite_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_URL")}
    env["DATABASE_URL"] = sqlite_url
    proc = subprocess.run(
        [CLI, "export", "--format", "csv"]
        + ["--metrics", "nope", "--from", "2025-11-01", "--to", "2025-11-02"]
        + ["-o", str(tmp_path / "x.csv")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "unknown metric: nope" in proc.stderr
    assert "valid: active_users, storage_bytes" in proc.stderr  # the valid ids are listed
    assert not (tmp_path / "x.csv").exists()


def test_csv_ends_with_the_events_of_the_period_spreadsheet_safe(seeded) -> None:  # type: ignore[no-untyped-def]
    """After the values, a blank line and the period's events; an admin's title that a
    spreadsheet would run as a formula is kept as text."""
    with seeded() as session:
        events.add_event(
            session,
            start=T0 + timedelta(hours=2),
            end=T0 + timedelta(hours=4),
            title='=HYPERLINK("http://x","점검")',
            kind="maintenance",
            description="DB 점검",
        )
        events.add_event(
            session, start=END + timedelta(hours=1), end=None, title="later", kind="other"
        )  # after the period: not in the file
    with seeded() as session:
        content = render_export(session, _spec(), max_bytes=MAX_BYTES).content
    text = content.decode("utf-8-sig")
    values, _, events_block = text.partition("\r\n\r\n")
    assert len(_read(values.encode("utf-8-sig"))) == HOURS
    rows = list(csv.reader(io.StringIO(events_block)))
    assert rows[0] == ["이벤트 시작 (UTC)", "종료", "종류", "제목", "설명"]
    assert rows[1:] == [
        [
            "2025-11-01T02:00:00+00:00",
            "2025-11-01T04:00:00+00:00",
            "점검",
            '\'=HYPERLINK("http://x","점검")',
            "DB 점검",
        ]
    ]
