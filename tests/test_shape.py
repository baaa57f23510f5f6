"""The code's shape where users feel it: building a report must not load the web app.

The import contracts in pyproject.toml (``lint-imports``) keep the rooms one-way; these
tests check the consequence in a fresh interpreter, where nothing was imported before.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import REPO

WEB_FRAMEWORKS = ("flask", "dash", "werkzeug", "flask_login", "dash_bootstrap_components")


def _loaded_after(*modules: str) -> list[str]:
    """The top-level packages loaded by importing ``modules`` in a new interpreter."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout)
    return loaded


@pytest.mark.parametrize(
    "modules",
    [
        ("dashboard.reports.pdf_report",),
        ("dashboard.reports.export_service",),
        ("dashboard.charts.figures", "dashboard.reports.csv_export"),
        ("alerts.service", "alerts.manage", "dashboard.reports.mailing"),
    ],
)
def test_building_a_report_imports_no_web_framework(modules: tuple[str, ...]) -> None:
    loaded = _loaded_after(*modules)
    assert "reportlab" in loaded or "plotly" in loaded  # the import really happened
    assert not [m for m in WEB_FRAMEWORKS if m in loaded]


def test_the_command_line_starts_without_the_web_app_or_pandas() -> None:
    loaded = _loaded_after("admin_metrics.cli")
    assert "click" in loaded
    assert not [m for m in (*WEB_FRAMEWORKS, "pandas", "reportlab", "plotly") if m in loaded]


def test_the_analytics_package_loads_only_numpy_and_pandas() -> None:
    """SciPy (≈ 0.5 s to import) loads with the first forecast, not with the package: the
    CLI's PDF imports it while Chromium starts."""
    loaded = _loaded_after("analytics.forecast", "analytics.unusual", "analytics.daily")
    assert "pandas" in loaded and "scipy" not in loaded
    project = ("admin_metrics", "alerts", "collectors", "dashboard", "db", "migrations")
    assert not [m for m in (*project, *WEB_FRAMEWORKS, "sqlalchemy", "plotly") if m in loaded]


def test_the_chart_renderer_loads_neither_pandas_nor_plotly() -> None:
    """The CLI starts Chromium before the report's heavy modules load."""
    loaded = _loaded_after("dashboard.reports.chart_renderer")
    assert not [m for m in ("pandas", "numpy", "plotly", "reportlab", "sqlalchemy") if m in loaded]
