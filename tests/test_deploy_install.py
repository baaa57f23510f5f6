"""The Dockerfile's build steps and the air-gapped install, run for real outside Docker.

One wheelhouse is built with ``scripts/build-wheelhouse.sh`` (the locked set + the project
wheel), then ``scripts/container-build.sh`` installs it into a fresh virtualenv with
``--no-index`` (nothing but the wheelhouse), checks the installed package, and the
container entrypoint migrates an empty PostgreSQL database and serves it with gunicorn.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.pgserver import free_port
from tests.support import REPO, create_user, http_login

pytestmark = pytest.mark.slow


def _clean_env(**extra: str) -> dict[str, str]:
    """No pip configuration, index or find-links from this machine: only what we pass."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "DATABASE_URL", "SOURCE_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> str:
    proc = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}):\n{output}"
    return output


@dataclass
class Installed:
    wheelhouse: Path
    venv: Path
    build_log: str


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("airgap")
    wheelhouse = root / "wheelhouse"
    # Built with this project's own venv (package access like any CI machine)...
    build_env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    log = _run(
        [str(REPO / "scripts" / "build-wheelhouse.sh"), str(wheelhouse)],
        build_env,
        REPO,
        timeout=600,
    )
    # ... installed with no index at all, like on the air-gapped machine.
    venv = root / "venv"
    env = _clean_env(APP_VENV=str(venv), WHEELHOUSE=str(wheelhouse), SKIP_APT="1")
    script = str(REPO / "scripts" / "container-build.sh")
    for step in ("system", "python", "check"):
        log += _run([script, step], env, root, timeout=600)
    return Installed(wheelhouse, venv, log)


def test_wheelhouse_holds_the_locked_set_and_the_project(installed: Installed) -> None:
    from packaging.utils import canonicalize_name, parse_wheel_filename

    wheels = {}
    for path in installed.wheelhouse.glob("*.whl"):
        name, version, _build, _tags = parse_wheel_filename(path.name)
        wheels[canonicalize_name(name)] = str(version)
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert wheels.get(canonicalize_name(name)) == version, name
    assert "admin-metrics-history" in wheels
    sums = (installed.wheelhouse / "SHA256SUMS").read_text()
    assert sums.count(".whl") == len(wheels)


def test_installed_package_is_not_the_source_tree(installed: Installed) -> None:
    out = subprocess.run(
        [
            str(installed.venv / "bin" / "python"),
            "-c",
            "import dashboard; print(dashboard.__file__)",
        ],
        cwd="/",
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith(str(installed.venv)), out
    assert "container-build: package data ok" in installed.build_log
    assert "container-build: ok" in installed.build_log


@pytest.fixture
def entrypoint_server(
    installed: Installed, empty_pg_url: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = free_port()
    log = tmp_path / "entrypoint.log"
    env = _clean_env(
        PATH=f"{installed.venv / 'bin'}:{os.environ['PATH']}",
        DATABASE_URL=empty_pg_url,
        SECRET_KEY="entrypoint-secret-0123456789abcdef",
        DATA_DIR=str(tmp_path / "var"),
        METRICS_COLLECTION_ENABLED="false",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="2",
        URL_PREFIX="/portal/metrics/",
        HOME=str(tmp_path),
    )
    proc = subprocess.Popen(
        [str(REPO / "scripts" / "entrypoint.sh")],
        cwd=tmp_path,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/portal/metrics/"
    deadline = time.monotonic() + 90
    try:
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            try:
                if requests.get(base + "healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or workers still booting
                pass
            time.sleep(0.2)
        yield proc, base, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_entrypoint_migrates_then_serves_from_the_installed_wheel(
    entrypoint_server: tuple[subprocess.Popen[bytes], str, Path],
    installed: Installed,
    empty_pg_url: str,
    tmp_path: Path,
) -> None:
    proc, base, log = entrypoint_server
    engine = sa.create_engine(empty_pg_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"metric_snapshots", "metric_collection_failures", "alembic_version"} <= tables

    create_user(empty_pg_url, "admin")
    session = requests.Session()
    page = session.get(base + "login", timeout=10)
    assert page.status_code == 200
    css = session.get(base + "static/bootstrap.min.css", timeout=10)
    assert css.status_code == 200 and len(css.content) > 100_000  # assets from the wheel
    assert http_login(session, base, "admin").status_code == 302
    assert session.get(base + "admin/metrics/", timeout=10).status_code == 200

    # The Docker HEALTHCHECK command agrees.
    health_env = _clean_env(WEB_BIND=f"127.0.0.1:{base.split(':')[2].split('/')[0]}")
    health_env["URL_PREFIX"] = "/portal/metrics/"
    _run([str(REPO / "scripts" / "entrypoint.sh"), "healthcheck"], health_env, tmp_path, 30)

    # docker stop: SIGTERM to PID 1 (gunicorn, exec'd by the entrypoint), clean exit.
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, log.read_text(errors="replace")
    text = log.read_text(errors="replace")
    assert "Handling signal: term" in text and "Shutting down: Master" in text
    assert not (tmp_path / ".gunicorn").exists(), "no control socket under $HOME"
    assert "control" not in {p.name for p in tmp_path.iterdir()}


def test_entrypoint_migrate_alone(installed: Installed, empty_pg_url: str, tmp_path: Path) -> None:
    env = _clean_env(
        PATH=f"{installed.venv / 'bin'}:{os.environ['PATH']}",
        DATABASE_URL=empty_pg_url,
        DATA_DIR=str(tmp_path / "var"),
    )
    out = _run([str(REPO / "scripts" / "entrypoint.sh"), "migrate"], env, tmp_path, 120)
    assert "Database at revision" in out
    engine = sa.create_engine(empty_pg_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM metric_snapshots")).scalar() == 0
    finally:
        engine.dispose()


def test_container_build_from_source_with_lock_constraints(tmp_path: Path) -> None:
    """The Dockerfile's default path: install the source tree constrained to the lock."""
    venv = tmp_path / "venv"
    build_env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    build_env.update(APP_VENV=str(venv), SKIP_APT="1")
    script = str(REPO / "scripts" / "container-build.sh")
    _run([script, "python"], build_env, tmp_path, timeout=600)
    out = _run([script, "check"], _clean_env(APP_VENV=str(venv)), tmp_path, timeout=300)
    assert "container-build: ok" in out
    frozen = _run([str(venv / "bin" / "python"), "-m", "pip", "freeze"], _clean_env(), tmp_path, 60)
    installed = {line.split("==")[0].lower(): line for line in frozen.splitlines() if "==" in line}
    assert installed["dash"] in (REPO / "requirements.lock").read_text().splitlines()
