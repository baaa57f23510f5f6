"""Pure pieces of the page's quality work: the zoom in the URL, the table view's rows with
their gap rows, the figure themes (PDF stays light) and the freshness text."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from dashboard.charts.figures import build_metric_figure
from dashboard.charts.tables import table_rows
from dashboard.charts.theme import DARK, LIGHT, theme_for
from dashboard.page.cards import freshness_text
from dashboard.page.view_state import parse_zoom


def _frame(hours: list[int]) -> pd.DataFrame:
    t0 = pd.Timestamp("2026-11-01T00:00:00Z")
    return pd.DataFrame(
        {"timestamp": [t0 + pd.Timedelta(hours=h) for h in hours], "value": [10.0] * len(hours)}
    )


def test_zoom_is_read_from_the_url_and_malformed_zoom_is_ignored() -> None:
    zoom = parse_zoom("?range=7&zoom_start=2026-11-02T10:00&zoom_end=2026-11-03T04:30")
    assert zoom == (datetime(2026, 11, 2, 10), datetime(2026, 11, 3, 4, 30))
    for bad in (
        "?range=7",
        "?zoom_start=x&zoom_end=y",
        "?zoom_start=2026-11-03&zoom_end=2026-11-02",
    ):
        assert parse_zoom(bad) is None


def test_table_rows_mark_each_gap_once() -> None:
    rows = table_rows(_frame([0, 1, 4, 5]), "active_users", "hourly", "Asia/Seoul", "en")
    assert [r.gap for r in rows] == [False, False, True, False, False]
    assert rows[2].time == "2026-11-01 10:00 – 2026-11-01 13:00"
    assert rows[0].time == "2026-11-01 09:00"


def test_dark_theme_colours_the_figure_and_the_default_stays_light() -> None:
    df = _frame(list(range(30)))
    dark = build_metric_figure(
        df, metric_type="active_users", granularity="hourly", tz="UTC", theme=theme_for("dark")
    )
    light = build_metric_figure(df, metric_type="active_users", granularity="hourly", tz="UTC")
    assert dark.layout.paper_bgcolor == DARK.paper and light.layout.paper_bgcolor == LIGHT.paper
    assert theme_for("nonsense") is LIGHT


def test_compare_mode_has_one_unified_tooltip() -> None:
    df = _frame(list(range(30)))
    fig = build_metric_figure(
        df, metric_type="active_users", granularity="hourly", tz="UTC", compare_df=df
    )
    assert fig.layout.hovermode == "x unified" and fig.layout.xaxis.showspikes


def test_freshness_says_when_and_how_long_ago() -> None:
    now = datetime(2026, 11, 1, 5, 7, tzinfo=UTC)
    last = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    assert freshness_text(last, now, "Asia/Seoul", "ko") == "업데이트 14:00 (7분 전)"
    assert freshness_text(last, now, "UTC", "en") == "updated 05:00 (7 min ago)"
    assert freshness_text(None, now, "UTC", "en") == ""
