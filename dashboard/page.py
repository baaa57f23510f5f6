"""The dashboard page at ``/admin/metrics/`` (skeleton; the dashboard feature fills it)."""

from __future__ import annotations

import dash
from dash import html
from flask import Flask

from dashboard.context import AppContext


def build_dash(server: Flask, ctx: AppContext, *, assets_folder: str, base_path: str) -> dash.Dash:
    app = dash.Dash(
        __name__,
        server=server,
        url_base_pathname=base_path,
        assets_folder=assets_folder,
        serve_locally=True,
        title="관리자 메트릭 히스토리",
        update_title=None,
    )
    app.layout = html.Div(html.H1("관리자 메트릭 히스토리", id="page-title"), className="container")
    ctx.services["dash"] = app
    return app
