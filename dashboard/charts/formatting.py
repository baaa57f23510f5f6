"""Value and time formatting shared by the page, the PDF report and the API (pure).

Bytes are IEC binary units, 1 KiB = 1024 bytes, 1 GiB = 2³⁰ bytes (``1.50 KiB``), on the
page, in the PDF, the CSV headers and the API docs alike; counts get thousands separators
and their unit (``1,234명`` / ``1,234 users``). :func:`window_text` is the one way a period
is written.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from db.metrics import METRICS_BY_ID, MetricInfo

# A metric by id (one of the six) or by its names and units (any catalogue metric's
# ``CatalogueMetric.info``).
MetricRef = str | MetricInfo

HIGHLIGHT_PERCENT = 20.0
BYTE_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")  # IEC: powers of 1024
DATE_FORMAT = "%Y-%m-%d"
MINUTE_FORMAT = "%Y-%m-%d %H:%M"


def metric_info(metric: MetricRef) -> MetricInfo:
    """The names and unit words of a metric given by id or already as such."""
    return metric if isinstance(metric, MetricInfo) else METRICS_BY_ID[metric]


def byte_scale(value: float) -> tuple[float, str]:
    """The divisor and unit (1024-based) that show ``value`` bytes as 1–1023 of a unit."""
    divisor, unit = 1.0, BYTE_UNITS[0]
    for power, name in enumerate(BYTE_UNITS):
        if abs(value) >= 1024**power:
            divisor, unit = float(1024**power), name
    return divisor, unit


def format_bytes(value: float) -> str:
    """``1536`` → ``1.50 KiB``; whole bytes below 1 KiB (``512 bytes``)."""
    divisor, unit = byte_scale(value)
    if divisor == 1.0:
        return f"{value:,.0f} bytes"
    scaled = value / divisor
    return f"{scaled:,.{byte_decimals(scaled)}f} {unit}"


def byte_decimals(scaled: float) -> int:
    """Decimals of a value in its byte unit: three significant digits up to 999
    (``4.66``, ``46.6``, ``466``), none above."""
    return 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0


def format_number(value: float) -> str:
    """Thousands separators; decimals only when the value is not whole."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def format_value(value: float | int | None, metric_type: MetricRef, lang: str = "ko") -> str:
    """A value with its unit: bytes as KiB/MiB/GiB/TiB, counts with separators (``1,234명``)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if metric_info(metric_type).is_bytes:
        return format_bytes(float(value))
    return with_unit(format_number(float(value)), metric_type, lang)


def with_unit(number: str, metric_type: MetricRef, lang: str = "ko") -> str:
    """A written count and its unit: ``1,234명`` in Korean (no space), ``1,234 users``.

    ``number`` may be a plotly hover template field (``%{y:,}``): the graphs' hovers and
    :func:`format_value` put the unit the same way."""
    unit = metric_info(metric_type).unit(lang)
    return f"{number}{unit}" if lang == "ko" else f"{number} {unit}"


def format_exact(value: float | int, metric_type: MetricRef, lang: str = "ko") -> str:
    """The exact value for hovers: bytes also in full (``1.50 KiB (1,536 bytes)``)."""
    info = metric_info(metric_type)
    if info.is_bytes and abs(value) >= 1024:
        return f"{format_bytes(float(value))} ({float(value):,.0f} bytes)"
    return format_value(value, metric_type, lang)


def format_delta(value: float | None, metric_type: MetricRef, lang: str = "ko") -> str:
    """A signed difference with unit (``+1,234명``, ``−1.20 GiB``); "—" when unknown."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return sign + format_value(abs(value), metric_type, lang)


def format_percent_change(change: float | None) -> str:
    """``▲ 12.3%`` / ``▼ 4.0%`` / ``0.0%``; "—" when undefined (previous period 0)."""
    if change is None:
        return "—"
    arrow = "▲ " if change > 0 else "▼ " if change < 0 else ""
    return f"{arrow}{abs(change):,.1f}%"


def is_notable_change(change: float | None) -> bool:
    """Highlighted on the page: |change| > 20 %."""
    return change is not None and abs(change) > HIGHLIGHT_PERCENT


def format_timestamp(ts: pd.Timestamp | datetime, tz: str, granularity: str = "hourly") -> str:
    """Wall-clock time in ``tz``; daily slots as a date."""
    local = pd.Timestamp(ts).tz_convert(tz)
    return (
        local.strftime("%Y-%m-%d") if granularity == "daily" else local.strftime("%Y-%m-%d %H:%M")
    )


def period_text(
    start: pd.Timestamp | datetime, end: pd.Timestamp | datetime, tz: str, *, minutes: bool = False
) -> str:
    """A period in ``tz``: ``2026-11-22 – 2026-11-29`` (one date when both ends share it), or
    with ``minutes`` ``2026-11-22 09:00 – 2026-11-29 09:00`` (the PDF's exact period)."""
    pattern = MINUTE_FORMAT if minutes else DATE_FORMAT
    first = pd.Timestamp(start).tz_convert(tz).strftime(pattern)
    last = pd.Timestamp(end).tz_convert(tz).strftime(pattern)
    return first if first == last and not minutes else f"{first} – {last}"


def slot_text(ts: pd.Timestamp | datetime, tz: str, granularity: str) -> str:
    """One slot as the admin reads it: a daily slot is its date (no time), an hourly one
    ``YYYY-MM-DD HH:MM`` in ``tz``."""
    return format_timestamp(ts, tz, granularity)


def window_text(window: object, tz: str, granularity: str = "hourly") -> str:
    """A half-open window ``[start, end)`` (``db.periods.Window``): daily as its first and
    last day (``2026-11-27 – 2026-12-03``), hourly as ``start – end`` with minutes."""
    start = pd.Timestamp(window.start)  # type: ignore[attr-defined]
    end = pd.Timestamp(window.end)  # type: ignore[attr-defined]
    if end <= start:
        return period_text(start, start, tz, minutes=granularity == "hourly")
    if granularity == "daily":
        return period_text(start, end - pd.Timedelta(microseconds=1), tz)
    return period_text(start, end, tz, minutes=True)
