"""The PDF report layout (ReportLab, A4): header, summary table, trend forecasts, events,
one chart per metric (with the events marked, the forecast and unusual values drawn).

Charts come from the page's own figure builder (``dashboard.charts.figures``), rendered to PNG by
the shared ``ChartRenderer``. Text is set in NanumGothic, a TrueType font embedded in the
file (ReportLab's CID font HYGothic is *not* embedded and shows blank in many viewers).
"""

from __future__ import annotations

import html
import io
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import pandas as pd
from PIL import Image as PILImage
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from dashboard.charts.events import ChartEvent, kind_label
from dashboard.charts.figures import build_metric_figure
from dashboard.charts.formatting import (
    format_bytes,
    format_number,
    format_percent_change,
    is_notable_change,
    period_text,
    slot_text,
)
from dashboard.charts.overlays import axis_with_forecasts, forecast_sentence
from dashboard.charts.series import MAX_POINTS
from dashboard.charts.summaries import summarize
from dashboard.i18n import t
from dashboard.paths import FONT_DIRS
from dashboard.reports.chart_renderer import ChartRenderer
from dashboard.reports.types import ExportData, ExportError, ExportSpec
from db.metrics import DEFAULT_SOURCE, METRICS_BY_ID, MetricInfo

FONT: Final = "NanumGothic"
FONT_BOLD: Final = "NanumGothic-Bold"
FONT_FILES: Final[dict[str, str]] = {FONT: "NanumGothic.ttf", FONT_BOLD: "NanumGothicBold.ttf"}

CHART_WIDTH_PX: Final = 900
CHART_HEIGHT_PX: Final = 300
CHART_SCALE: Final = 2
PAGE_MARGIN: Final = 15 * mm
MAX_PDF_EVENTS: Final = 30  # the rest are counted ("and N more")
INK = colors.HexColor("#212529")
MUTED = colors.HexColor("#6c757d")
RULE = colors.HexColor("#dee2e6")
HEADER_BG = colors.HexColor("#f1f3f5")
UP = colors.HexColor("#2b8a3e")
DOWN = colors.HexColor("#c92a2a")

# Binary image streams: ASCII85 makes them 25 % larger and, without ReportLab's C
# accelerator, its pure-Python encoder alone took ~0.75 s for six charts.
rl_config.useA85 = 0

_font_lock = threading.Lock()


def register_fonts() -> None:
    """Register NanumGothic regular + bold once per process (embedded as TrueType subsets)."""
    with _font_lock:
        if FONT in pdfmetrics.getRegisteredFontNames():
            return
        for name, filename in FONT_FILES.items():
            path = next((d / filename for d in FONT_DIRS if (d / filename).is_file()), None)
            if path is None:
                raise ExportError(
                    f"Korean font {filename} not found in "
                    f"{', '.join(str(d) for d in FONT_DIRS)}: install the Debian package "
                    "'fonts-nanum'"
                )
            pdfmetrics.registerFont(TTFont(name, str(path)))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9.5, leading=13, textColor=INK)
    return {
        "base": base,
        "title": ParagraphStyle("title", base, fontName=FONT_BOLD, fontSize=18, leading=24),
        "h2": ParagraphStyle(
            "h2", base, fontName=FONT_BOLD, fontSize=12.5, leading=17, spaceBefore=8, spaceAfter=5
        ),
        "meta_key": ParagraphStyle("meta_key", base, textColor=MUTED),
        "note": ParagraphStyle("note", base, fontSize=8, leading=11, textColor=MUTED),
        "cell": ParagraphStyle("cell", base, fontSize=9, leading=12, alignment=2),
        "cell_left": ParagraphStyle("cell_left", base, fontSize=9, leading=12),
        "head": ParagraphStyle(
            "head", base, fontName=FONT_BOLD, fontSize=9, leading=12, alignment=2
        ),
        "head_left": ParagraphStyle("head_left", base, fontName=FONT_BOLD, fontSize=9, leading=12),
    }


def _zone_text(tz: str, at: datetime) -> str:
    offset = at.astimezone(ZoneInfo(tz)).strftime("%z")
    return f"{tz} (UTC{offset[:3]}:{offset[3:]})"


def _header(spec: ExportSpec, now: datetime, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    lang, zone = spec.lang, spec.zone
    rows = [
        (t("export.pdf.period", lang), period_text(spec.start, spec.end, spec.tz, minutes=True)),
        (t("export.pdf.granularity", lang), t(f"export.pdf.{spec.granularity}", lang)),
        (t("export.pdf.timezone", lang), _zone_text(spec.tz, spec.end)),
        *([(t("export.pdf.source", lang), spec.source)] if spec.source != DEFAULT_SOURCE else []),
        (t("export.pdf.generated", lang), f"{now.astimezone(zone):%Y-%m-%d %H:%M:%S}"),
    ]
    meta = Table(
        [[Paragraph(k, styles["meta_key"]), Paragraph(v, styles["base"])] for k, v in rows],
        colWidths=[28 * mm, None],
        hAlign="LEFT",
    )
    meta.setStyle(
        TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return [
        Paragraph(t("export.pdf.title", lang), styles["title"]),
        Spacer(0, 3 * mm),
        meta,
        Spacer(0, 4 * mm),
    ]


def summary_label(metric_type: str, lang: str) -> str:
    """A row label of the six (``row_label``)."""
    return row_label(METRICS_BY_ID[metric_type], lang)


def summary_value(value: float | None, metric_type: str, lang: str) -> str:
    """A cell of the six (``cell_value``)."""
    return cell_value(value, METRICS_BY_ID[metric_type])


def row_label(info: MetricInfo, lang: str) -> str:
    """A table's row label: counts carry their unit here, once (``대화 수 (개)``)."""
    return info.name(lang) if info.is_bytes else f"{info.name(lang)} ({info.unit(lang)})"


def cell_value(value: float | None, info: MetricInfo) -> str:
    """A table cell: bytes scaled with their unit (``16.5 GB``), counts as plain numbers
    (English units such as "conversations" would not fit the A4 columns); "—" for none."""
    if value is None or pd.isna(value):
        return "—"
    return format_bytes(float(value)) if info.is_bytes else format_number(value)


def _summary(
    data: ExportData, spec: ExportSpec, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    lang = spec.lang
    # Compare mode: both periods' averages next to the change of averages.
    head = ["metric", "current", "min", "max", "average"]
    head += ["compare_average", "change"] if spec.comparing else ["change"]
    rows: list[list[Any]] = [
        [
            Paragraph(t(f"export.pdf.{key}", lang), styles["head_left" if i == 0 else "head"])
            for i, key in enumerate(head)
        ]
    ]
    highlight: list[tuple[int, colors.Color]] = []
    for metric_type in spec.metric_types:
        s = summarize(
            data.frames[metric_type],
            metric_type=metric_type,
            compare_df=data.previous.get(metric_type),
        )
        change = s.compare_percent
        rows.append(
            [
                Paragraph(summary_label(metric_type, lang), styles["cell_left"]),
                *(
                    Paragraph(summary_value(v, metric_type, lang), styles["cell"])
                    for v in (s.latest, s.minimum, s.maximum, s.average)
                ),
                *(
                    [Paragraph(summary_value(s.compare_average, metric_type, lang), styles["cell"])]
                    if spec.comparing
                    else []
                ),
                Paragraph(format_percent_change(change), styles["cell"]),
            ]
        )
        if change is not None and is_notable_change(change):
            highlight.append((len(rows) - 1, UP if change > 0 else DOWN))
    table = Table(rows, colWidths=[52 * mm] + [None] * (len(head) - 1), repeatRows=1)
    style: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, RULE),
        ("LINEBELOW", (0, 1), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    for row, colour in highlight:
        style.append(("TEXTCOLOR", (-1, row), (-1, row), colour))
    table.setStyle(TableStyle(style))
    previous = period_text(spec.previous_start, spec.previous_end, spec.tz, minutes=True)
    return [
        Paragraph(t("export.pdf.summary", lang), styles["h2"]),
        table,
        Spacer(0, 1.5 * mm),
        Paragraph(t("export.pdf.change_note", lang).format(previous=previous), styles["note"]),
        Spacer(0, 3 * mm),
    ]


def _extras(
    data: ExportData, spec: ExportSpec, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    """The catalogue's extra metrics: one row per series (metric and label) with its latest,
    lowest, highest and average value of the period."""
    if not spec.extras or data.extras is None:
        return []
    lang = spec.lang
    head = ["metric", "label", "current", "min", "max", "average"]
    rows: list[list[Any]] = [
        [
            Paragraph(t(f"export.pdf.{key}", lang), styles["head_left" if i < 2 else "head"])
            for i, key in enumerate(head)
        ]
    ]
    groups = data.extras.groupby(["metric_type", "source", "label"], sort=False)["value"]
    several = data.extras["source"].nunique() > 1
    stats = groups.agg(["last", "min", "max", "mean"])
    for metric in spec.extras:
        name = row_label(metric.info, lang)
        series = stats.loc[[metric.id]] if metric.id in stats.index.get_level_values(0) else None
        if series is None:  # nothing stored in the period: one row that says so
            cells = [Paragraph("", styles["cell_left"])] + [Paragraph("—", styles["cell"])] * 4
            rows.append([Paragraph(html.escape(name, quote=False), styles["cell_left"]), *cells])
            continue
        for (_, source, label), values in series.iterrows():
            if several:  # "all" on the page: each source's series of its own
                label = f"{source} · {label}" if label else source
            rows.append(
                [
                    Paragraph(html.escape(name, quote=False), styles["cell_left"]),
                    Paragraph(html.escape(str(label), quote=False), styles["cell_left"]),
                    *(Paragraph(cell_value(v, metric.info), styles["cell"]) for v in values),
                ]
            )
    table = Table(rows, colWidths=[52 * mm, 34 * mm] + [None] * 4, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return [Paragraph(t("export.pdf.extras", lang), styles["h2"]), table, Spacer(0, 3 * mm)]


def chart_figures(data: ExportData, spec: ExportSpec) -> Iterator[Any]:
    """The page's figures, in print styling, over exactly the requested period (lazily:
    the renderer starts on the first while the next are being built)."""
    offset = pd.Timedelta(spec.start - spec.previous_start)
    # One time axis for every chart, wide enough for the trends (as on the page).
    x_range = axis_with_forecasts((spec.start, spec.end), data.insights.forecasts.values(), spec.tz)
    for metric_type in spec.metric_types:
        yield build_metric_figure(
            data.frames[metric_type],
            metric_type=metric_type,
            granularity=spec.granularity,
            tz=spec.tz,
            lang=spec.lang,
            for_print=True,
            x_range=x_range,
            # Compare mode: the comparison period overlaid, as on the page.
            compare_df=data.previous.get(metric_type) if spec.comparing else None,
            compare_offset=offset if spec.comparing else None,
            period_labels=spec.period_labels if spec.comparing else None,
            events=data.events,
            forecast=data.insights.forecasts.get(metric_type),
            unusual=data.insights.unusual.get(metric_type),
        )


def _forecasts(
    data: ExportData, spec: ExportSpec, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    """One line per metric with a trend: the same sentence as the page's card."""
    lines = [
        f"{METRICS_BY_ID[m].name(spec.lang)}: "
        + forecast_sentence(forecast, metric_type=m, tz=spec.tz, lang=spec.lang)
        for m in spec.metric_types
        if (forecast := data.insights.forecasts.get(m)) is not None
    ]
    if not lines:
        return []
    return [
        Paragraph(t("export.pdf.forecast", spec.lang), styles["h2"]),
        *(Paragraph(line, styles["base"]) for line in lines),
        Spacer(0, 3 * mm),
    ]


def _events(
    events: tuple[ChartEvent, ...], spec: ExportSpec, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    """A short table of the period's events (the marks on the charts), oldest first."""
    if not events:
        return []
    lang = spec.lang
    head = [
        Paragraph(t(f"export.pdf.event_{key}", lang), styles["head_left"])
        for key in ("time", "kind", "title")
    ]
    rows: list[list[Any]] = [head]
    for event in events[:MAX_PDF_EVENTS]:
        when = slot_text(pd.Timestamp(event.start), spec.tz, "hourly")
        if event.end is not None and event.end > event.start:
            when += " – " + slot_text(pd.Timestamp(event.end), spec.tz, "hourly")
        rows.append(
            [
                Paragraph(when, styles["cell_left"]),
                Paragraph(kind_label(event.kind, lang), styles["cell_left"]),
                # ReportLab parses a little XML: an admin's title stays plain text.
                Paragraph(html.escape(event.title, quote=False), styles["cell_left"]),
            ]
        )
    table = Table(rows, colWidths=[62 * mm, 28 * mm, None], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story: list[Flowable] = [Paragraph(t("export.pdf.events", lang), styles["h2"]), table]
    if len(events) > MAX_PDF_EVENTS:
        more = t("export.pdf.events_more", lang).format(n=len(events) - MAX_PDF_EVENTS)
        story.append(Paragraph(more, styles["note"]))
    story.append(Spacer(0, 3 * mm))
    return story


def _opaque(png: bytes) -> PILImage.Image:
    """The chart without its alpha channel: ReportLab would embed the alpha as a second
    full-size image (an SMask), growing the file and the time to write it."""
    with PILImage.open(io.BytesIO(png)) as image:
        image.load()
        if image.mode == "RGB":
            return image
        rgba = image.convert("RGBA")
    alpha = rgba.getchannel("A")
    if alpha.getextrema()[0] == 255:  # fully opaque already (white paper background)
        return rgba.convert("RGB")
    flat = PILImage.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=alpha)
    return flat


class _Chart(Flowable):
    """A chart image scaled to the text width (drawn from the decoded image: no re-encode)."""

    def __init__(self, image: PILImage.Image, width: float, height: float) -> None:
        super().__init__()
        self.reader = ImageReader(image)
        self.width, self.height = width, height

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        self.canv.drawImage(self.reader, 0, 0, self.width, self.height)


class _NumberedCanvas(Canvas):
    """Draws "page x / y" once the total is known (ReportLab's two-pass page count)."""

    lang = "ko"
    footer_left = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - ReportLab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        width, _height = self._pagesize
        self.saveState()
        self.setFont(FONT, 8)
        self.setFillColor(MUTED)
        self.setStrokeColor(RULE)
        self.line(PAGE_MARGIN, 11 * mm, width - PAGE_MARGIN, 11 * mm)
        self.drawString(PAGE_MARGIN, 7 * mm, self.footer_left)
        label = t("export.pdf.page", self.lang).format(page=self._pageNumber, total=total)
        self.drawRightString(width - PAGE_MARGIN, 7 * mm, label)
        self.restoreState()


def build_pdf_report(
    data: ExportData, spec: ExportSpec, *, renderer: ChartRenderer, now: datetime
) -> tuple[bytes, bool]:
    """The report's bytes and whether any chart was LTTB-reduced (> 1000 points)."""
    register_fonts()
    styles = _styles()
    figures = chart_figures(data, spec)
    images = renderer.render(
        figures, width=CHART_WIDTH_PX, height=CHART_HEIGHT_PX, scale=CHART_SCALE
    )
    content_width = A4[0] - 2 * PAGE_MARGIN
    chart_height = content_width * CHART_HEIGHT_PX / CHART_WIDTH_PX

    story: list[Flowable] = [
        *_header(spec, now, styles),
        *(_summary(data, spec, styles) if spec.metric_types else []),
        *_extras(data, spec, styles),
        *_forecasts(data, spec, styles),
        *_events(data.events, spec, styles),
    ]
    if spec.metric_types:
        story.append(Paragraph(t("export.pdf.charts", spec.lang), styles["h2"]))
    for png in images:
        story.append(_Chart(_opaque(png), content_width, chart_height))
        story.append(Spacer(0, 2 * mm))

    buffer = io.BytesIO()
    title = t("export.pdf.title", spec.lang)
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=PAGE_MARGIN,
        rightMargin=PAGE_MARGIN,
        topMargin=PAGE_MARGIN,
        bottomMargin=PAGE_MARGIN + 4 * mm,
        title=title,
        author="Admin Metrics History",
        creator="Admin Metrics History",
        lang=spec.lang,
    )
    canvas_class = type(
        "ReportCanvas",
        (_NumberedCanvas,),
        {
            "lang": spec.lang,
            "footer_left": f"{title} · {period_text(spec.start, spec.end, spec.tz, minutes=True)}",
        },
    )
    doc.build(story, canvasmaker=canvas_class)
    downsampled = any(len(df) > MAX_POINTS for df in data.frames.values())
    return buffer.getvalue(), downsampled
