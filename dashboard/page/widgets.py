"""Small layout pieces the page's panels share (the Alerts window, the events dialog)."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc


def labelled_col(label: str, control: Any, width: int = 3) -> dbc.Col:
    """A form column: a small label tied to ``control`` (by its id), then the control."""
    return dbc.Col(
        [dbc.Label(label, html_for=control.id, className="small mb-1"), control], md=width
    )
