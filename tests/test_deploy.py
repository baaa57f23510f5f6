"""Deployment artefacts: compose file, Dockerfile, gunicorn configuration, shutdown hooks.

No Docker engine runs here, so the compose file is checked as data (YAML + the product's
own settings validation) and the Dockerfile's steps are run outside Docker by
``test_deploy_install.py``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from gunicorn.config import Config

from admin_metrics.settings import Settings, load_settings
from admin_metrics.wsgi import gunicorn_options, stop_services
from tests.support import REPO

SEED_VARIABLES = (
    "METRICS_COLLECTION_ENABLED",
    "METRICS_HOURLY_RETENTION_DAYS",
    "METRICS_DAILY_RETENTION_DAYS",
)
SPEC_VARIABLES = (
    "DATABASE_URL",
    "SOURCE_DATABASE_URL",
    "SOURCE_QUERIES_FILE",
    "EXPORT_MAX_BYTES",
    "EXPORT_TTL_SECONDS",
    "SECRET_KEY",
    "URL_PREFIX",
    "AUTH_PROXY_HEADER",
    "AUTH_PROXY_TRUSTED",
    "AUTH_PROXY_AUTO_CREATE",
    "FRAME_ANCESTORS",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_SAMESITE",
)
_INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?([-?])([^}]*))?\}")


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR:-default}`` / ``${VAR:?message}`` with the given environment."""

    def one(match: re.Match[str]) -> str:
        name, kind, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if kind == "?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return _INTERPOLATION.sub(one, value)


def _app_environment(env: dict[str, str]) -> dict[str, str]:
    raw = _compose()["services"]["app"]["environment"]
    assert isinstance(raw, dict), "app environment is a mapping"
    resolved = {}
    for key, value in raw.items():
        if value is None:  # no value: passed from the shell when set there, else unset
            if env.get(key):
                resolved[key] = env[key]
        else:
            resolved[key] = _interpolate(str(value), env)
    return resolved


# --- docker-compose.yml ----------------------------------------------------------------
def test_compose_runs_postgres_15_with_volume_and_healthcheck() -> None:
    compose = _compose()
    db = compose["services"]["db"]
    assert re.match(r"postgres:15([.-]|$)", db["image"]), db["image"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "the data volume is a named volume"
    test = db["healthcheck"]["test"]
    assert "pg_isready" in " ".join(test)


def test_compose_app_waits_for_healthy_database_and_has_its_own_healthcheck() -> None:
    app = _compose()["services"]["app"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["build"]["dockerfile"] == "Dockerfile"
    assert "healthcheck" in " ".join(app["healthcheck"]["test"])
    assert app["ports"] == ["${APP_PORT:-8050}:8050"]
    # Longer than gunicorn's graceful timeout, so in-flight requests can finish.
    assert int(app["stop_grace_period"].rstrip("s")) > 30


def test_compose_passes_the_seed_and_spec_variables() -> None:
    names = set(_compose()["services"]["app"]["environment"])
    missing = [n for n in SEED_VARIABLES + SPEC_VARIABLES if n not in names]
    assert missing == []


def test_compose_variables_are_real_settings_and_their_defaults_are_valid() -> None:
    env = _app_environment({"SECRET_KEY": "compose-check-secret-0123456789"})
    fields = {name.upper() for name in Settings.model_fields}
    assert sorted(set(env) - fields) == []
    settings = load_settings(_env_file=None, **{k.lower(): v for k, v in env.items()})
    assert settings.database_url is not None
    assert settings.database_url.startswith("postgresql+psycopg://admin_metrics:")
    assert settings.database_url.endswith("@db:5432/admin_metrics")
    assert settings.source_database_url is None and settings.source_queries_file is None
    assert settings.metrics_collection_enabled is True
    assert (settings.metrics_hourly_retention_days, settings.metrics_daily_retention_days) == (
        30,
        90,
    )
    assert settings.frame_ancestors == "'self'"
    assert settings.auth_proxy_header is None
    assert settings.web_bind == "0.0.0.0:8050"


def test_compose_has_no_empty_defaults() -> None:
    """``${X:-}`` reaches the container literally under podman-compose 1.0 (Debian 12's), so a
    variable that may be unset has no value in the file (passed through from the shell)."""
    text = (REPO / "docker-compose.yml").read_text()
    empty = [m.group(0) for m in _INTERPOLATION.finditer(text) if m.group(2) and not m.group(3)]
    assert empty == []


def test_compose_passes_source_settings_through_from_the_shell() -> None:
    env = _app_environment({"SECRET_KEY": "x" * 20, "SOURCE_DATABASE_URL": "sqlite:///src.db"})
    assert env["SOURCE_DATABASE_URL"] == "sqlite:///src.db"
    assert "SOURCE_QUERIES_FILE" not in env and "AUTH_PROXY_TRUSTED" not in env


def test_compose_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(KeyError, match="SECRET_KEY"):
        _app_environment({})


def test_compose_database_credentials_match() -> None:
    compose = _compose()
    db_env = compose["services"]["db"]["environment"]
    env = _app_environment({"SECRET_KEY": "x" * 20, "POSTGRES_PASSWORD": "s3cret"})
    url = env["DATABASE_URL"]
    assert f"{db_env['POSTGRES_USER']}:s3cret@db:5432/{db_env['POSTGRES_DB']}" in url
    assert _interpolate(db_env["POSTGRES_PASSWORD"], {"POSTGRES_PASSWORD": "s3cret"}) == "s3cret"


# --- Dockerfile ------------------------------------------------------------------------
def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined, comments dropped."""
    text = (REPO / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            out.append((instruction.upper(), rest.strip()))
    return out


def test_dockerfile_is_multi_stage_slim_debian_non_root_with_healthcheck() -> None:
    steps = _dockerfile()
    args = {rest.split("=", 1)[0]: rest.split("=", 1)[1] for i, rest in steps if i == "ARG"}
    stages = [rest for i, rest in steps if i == "FROM"]
    assert len(stages) >= 2, "multi-stage build"
    assert "slim" in args["PYTHON_IMAGE"] and "bookworm" in args["PYTHON_IMAGE"]
    users = [rest for i, rest in steps if i == "USER"]
    assert users and users[-1] not in ("root", "0"), "runs as a non-root user"
    (health,) = [rest for i, rest in steps if i == "HEALTHCHECK"]
    assert "healthcheck" in health
    assert 'ENTRYPOINT ["/app/scripts/entrypoint.sh"]' in [f"{i} {r}" for i, r in steps]
    runs = " ".join(rest for i, rest in steps if i == "RUN")
    # Every build step is the script the tests run outside Docker.
    for stage in ("python", "system", "check"):
        assert f"container-build.sh {stage}" in runs
    assert "COPY --from=build /opt/venv /opt/venv" in [f"{i} {r}" for i, r in steps]


def test_image_installs_chromium_and_the_korean_font() -> None:
    script = (REPO / "scripts" / "container-build.sh").read_text()
    packages = re.search(r"RUNTIME_PACKAGES=\(([^)]*)\)", script)
    assert packages is not None
    assert {"chromium", "fonts-nanum"} <= set(packages.group(1).split())


def test_nothing_preloads_the_app() -> None:
    for path in ("Dockerfile", "gunicorn.conf.py", "scripts/entrypoint.sh", "docker-compose.yml"):
        code = [
            line
            for line in (REPO / path).read_text().splitlines()
            if not line.strip().startswith("#")
        ]
        assert not any("--preload" in line for line in code), path


def test_dockerignore_keeps_the_build_context_small_but_complete() -> None:
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "var"} <= ignored
    needed = {"assets", "dashboard", "db", "collectors", "migrations", "admin_metrics"}
    needed |= {"scripts", "pyproject.toml", "requirements.lock", "gunicorn.conf.py"}
    assert needed.isdisjoint(ignored)


# --- gunicorn configuration --------------------------------------------------------------
def _load_gunicorn_conf(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Config:
    """Load gunicorn.conf.py the way gunicorn does (``-c``), with the given environment."""
    from gunicorn.app.base import Application

    for key in list(Settings.model_fields):
        monkeypatch.delenv(key.upper(), raising=False)
    monkeypatch.chdir(REPO / "tests")  # no .env from the repository root
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    class _Probe(Application):  # type: ignore[misc]
        def init(self, parser: Any, opts: Any, args: Any) -> None:
            return None

        def load(self) -> None:
            return None

    probe = _Probe.__new__(_Probe)
    probe.cfg = Config()
    values = probe.get_config_from_filename(str(REPO / "gunicorn.conf.py"))
    for key, value in values.items():
        if key in probe.cfg.settings:
            probe.cfg.set(key.lower(), value)
    return probe.cfg


def test_gunicorn_conf_takes_the_web_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _load_gunicorn_conf(
        monkeypatch,
        {
            "WEB_BIND": "0.0.0.0:9000",
            "WEB_WORKERS": "3",
            "WEB_THREADS": "6",
            "WEB_TIMEOUT": "90",
            "WEB_GRACEFUL_TIMEOUT": "20",
        },
    )
    assert cfg.bind == ["0.0.0.0:9000"]
    assert (cfg.workers, cfg.threads, cfg.timeout, cfg.graceful_timeout) == (3, 6, 90, 20)
    assert cfg.worker_class_str == "gthread"
    assert cfg.preload_app is False
    assert cfg.accesslog == "-"
    assert cfg.settings["wsgi_app"].get() == "admin_metrics.wsgi:create()"
    assert cfg.worker_exit.__name__ == "_worker_exit"


def test_gunicorn_control_socket_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _load_gunicorn_conf(monkeypatch, {})
    assert "control_socket_disable" in cfg.settings, "gunicorn ≥ 27 has a control socket"
    assert cfg.control_socket_disable is True


def test_gunicorn_json_logs_when_log_format_is_json(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _load_gunicorn_conf(monkeypatch, {"LOG_FORMAT": "json"})
    assert cfg.logger_class.__name__ == "JsonGunicornLogger"
    assert _load_gunicorn_conf(monkeypatch, {}).logger_class.__name__ == "Logger"


def test_gunicorn_conf_with_a_bad_value_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        _load_gunicorn_conf(monkeypatch, {"WEB_WORKERS": "many"})
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Invalid setting WEB_WORKERS"), err


def test_serve_and_gunicorn_conf_share_the_options(make_settings: Any) -> None:
    options = gunicorn_options(make_settings(web_workers=5, web_graceful_timeout=7))
    assert options["workers"] == 5 and options["graceful_timeout"] == 7
    assert options["preload_app"] is False


# --- shutdown: services stopped once the worker is done -----------------------------------
class _Service:
    def __init__(self, calls: list[str], name: str, method: str, fail: bool = False) -> None:
        def call() -> None:
            calls.append(name)
            if fail:
                raise RuntimeError(f"{name} broke")

        setattr(self, method, call)


def test_stop_services_stops_scheduler_first_then_renderer_even_when_one_fails(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from dashboard.app import create_app
    from dashboard.context import get_context

    app = create_app(make_settings())
    calls: list[str] = []
    ctx = get_context(app)
    ctx.chart_renderer = _Service(calls, "chart_renderer", "close")  # type: ignore[assignment]
    ctx.scheduler = _Service(calls, "scheduler", "stop", fail=True)  # type: ignore[assignment]
    with caplog.at_level(logging.INFO):
        stopped = stop_services(app)
    assert calls == ["scheduler", "chart_renderer"]
    assert stopped == ["chart_renderer"]
    assert "Stopping service 'scheduler' failed" in caplog.text


def test_stop_services_on_an_app_without_context_is_a_no_op() -> None:
    from flask import Flask

    assert stop_services(Flask("bare")) == []


def test_lock_file_pins_every_runtime_dependency() -> None:
    """requirements.lock covers the project's direct dependencies with exact versions."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lock = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            lock[canonicalize_name(name)] = version
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in lock, f"{name} missing: run scripts/build-wheelhouse.sh --lock"
        assert req.specifier.contains(lock[name], prereleases=True), (name, lock[name])


def test_readme_has_the_production_section() -> None:
    readme = (REPO / "README.md").read_text()
    assert "## Production" in readme
    section = readme.split("## Production", 1)[1]
    for needle in (
        "docker compose up",
        "gunicorn.conf.py",
        "--no-index --find-links",
        "URL_PREFIX",
        "AUTH_PROXY_TRUSTED",
        "SameSite=None; Secure",
        "pg_dump",
        "Can't locate revision",
        "Metrics scheduler started",
    ):
        assert needle in section, needle
    assert Path(REPO / "scripts" / "build-wheelhouse.sh").exists()
