"""The colours of the figures, light and dark, in one place.

The page passes the viewer's theme to the figure builders; the PDF always uses ``LIGHT``.
Contrast: every text colour here has at least 4.5:1 against its background (WCAG 2.1 AA).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

THEMES: Final = ("light", "dark")


@dataclass(frozen=True, slots=True)
class Theme:
    name: str
    paper: str  # figure and plot background
    text: str  # tick labels, legend
    muted: str  # unit and downsampling notes (≥ 4.5:1 on ``paper``)
    grid: str
    axis_line: str
    primary: str  # period 1
    compare: str  # period 2
    gap: str  # dotted bridges over missing slots
    hover_bg: str
    spike: str  # the shared vertical hover line
    unusual: str  # circles on unusual values
    # A labelled metric's lines, in order (top labels, then "others"): distinct hues, each
    # ≥ 3:1 against ``paper`` (graphical objects, WCAG 1.4.11).
    labels: tuple[str, ...] = ()


LIGHT: Final = Theme(
    name="light",
    paper="#ffffff",
    text="#343a40",
    muted="#5c636a",
    grid="#eef0f3",
    axis_line="#ced4da",
    primary="#1f6fd1",
    compare="#c2410c",
    gap="#6c757d",
    hover_bg="#ffffff",
    spike="#6c757d",
    unusual="#c92a2a",
    labels=("#1f6fd1", "#c2410c", "#2b8a3e", "#862e9c", "#a61e4d", "#5c636a"),
)

DARK: Final = Theme(
    name="dark",
    paper="#212529",
    text="#dee2e6",
    muted="#adb5bd",
    grid="#343a40",
    axis_line="#495057",
    primary="#6ea8fe",
    compare="#ff922b",
    gap="#adb5bd",
    hover_bg="#2b3035",
    spike="#adb5bd",
    unusual="#ff6b6b",
    labels=("#6ea8fe", "#ff922b", "#69db7c", "#da77f2", "#f783ac", "#ced4da"),
)


def theme_for(name: str | None) -> Theme:
    """The theme called ``name``; light for anything else (the default and the PDF's)."""
    return DARK if name == "dark" else LIGHT
