"""Settings: one line naming the variable for a bad value; README documents every setting."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from admin_metrics.settings import Settings, SettingsError, load_settings
from tests.support import REPO


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"METRICS_HOURLY_RETENTION_DAYS": "abc"}, "METRICS_HOURLY_RETENTION_DAYS"),
        ({"METRICS_DAILY_RETENTION_DAYS": "0"}, "METRICS_DAILY_RETENTION_DAYS"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"METRICS_COLLECTION_ENABLED": "maybe"}, "METRICS_COLLECTION_ENABLED"),
        ({"AUTH_PROXY_TRUSTED": "10.0.0.0/8,nonsense"}, "AUTH_PROXY_TRUSTED"),
        ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, "DEFAULT_TIMEZONE"),
        ({"DEFAULT_TIMEZONE": "America"}, "DEFAULT_TIMEZONE"),
        ({"DEFAULT_TIMEZONE": "x" * 300}, "DEFAULT_TIMEZONE"),
        ({"LOGIN_RATE_LIMIT": "lots"}, "LOGIN_RATE_LIMIT"),
        ({"LOGIN_ADDRESS_RATE_LIMIT": "0 per minute"}, "LOGIN_ADDRESS_RATE_LIMIT"),
        ({"SESSION_IDLE_MINUTES": "0"}, "SESSION_IDLE_MINUTES"),
        ({"PROXY_FIX_HOPS": "-1"}, "PROXY_FIX_HOPS"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"EXPORT_TTL_SECONDS": "-5"}, "EXPORT_TTL_SECONDS"),
        ({"BUSINESS_TIMEZONE": "Mars/Olympus"}, "BUSINESS_TIMEZONE"),
        ({"WEEK_START": "someday"}, "WEEK_START"),
        ({"PROMETHEUS_ENABLED": "true"}, "PROMETHEUS_TOKEN or PROMETHEUS_ALLOW"),
        ({"PROMETHEUS_ALLOW": "10.0.0.0/8,nowhere"}, "PROMETHEUS_ALLOW"),
        ({"PROMETHEUS_TOKEN": "too-short"}, "PROMETHEUS_TOKEN"),
        # Daily rows are rolled up from hourly ones: a shorter daily retention is refused.
        (
            {"METRICS_HOURLY_RETENTION_DAYS": "30", "METRICS_DAILY_RETENTION_DAYS": "10"},
            "METRICS_DAILY_RETENTION_DAYS=10",
        ),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert "\n" not in message
    assert name in message
    for value in env.values():  # the bad value is shown once, not twice
        assert message.count(value) <= 1, message


@pytest.mark.parametrize("name", ["SECRET_KEY", "PROMETHEUS_TOKEN"])
def test_secret_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "tiny-pw")
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    assert name in str(info.value) and "tiny-pw" not in str(info.value)


def test_cli_start_up_fails_with_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"PATH": "/usr/bin:/bin", "METRICS_HOURLY_RETENTION_DAYS": "abc"}
    result = subprocess.run(
        [sys.executable, "-m", "admin_metrics.cli", "db", "current"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "METRICS_HOURLY_RETENTION_DAYS" in lines[0]
    assert "Traceback" not in result.stderr


def test_embedded_default_is_sqlite_under_data_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(_env_file=None, data_dir=tmp_path / "var")  # type: ignore[call-arg]
    assert settings.store_url == f"sqlite:///{tmp_path / 'var' / 'metrics.db'}"
    assert settings.source_url == settings.store_url


def test_url_prefix_is_normalised() -> None:
    settings = Settings(_env_file=None, url_prefix="portal/metrics")  # type: ignore[call-arg]
    assert settings.url_prefix == "/portal/metrics/"


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (REPO / "README.md").read_text()
    table_names = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.M))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - table_names == set(), "settings missing from README configuration table"
    assert table_names - fields == set(), "README documents settings that do not exist"
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no help text"
