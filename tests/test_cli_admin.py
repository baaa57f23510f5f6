"""``admin-metrics create-admin``: create, change the password, refuse a weak one."""

from __future__ import annotations

import subprocess
import sys

from db.accounts import authenticate
from db.engine import make_engine, session_factory, session_scope


def _create_admin(url: str, name: str, password: str, cwd) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "ADMIN_PASSWORD": password}
    return subprocess.run(
        [sys.executable, "-m", "admin_metrics.cli", "create-admin", name],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _can_sign_in(url: str, name: str, password: str) -> bool:
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            return authenticate(session, name, password) is not None
    finally:
        engine.dispose()


def test_create_then_change_password(store_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = _create_admin(store_url, "bob", "first-password", tmp_path)
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    assert _can_sign_in(store_url, "bob", "first-password")

    second = _create_admin(store_url, "bob", "second-password", tmp_path)
    assert second.returncode == 0, second.stderr
    assert "password changed" in second.stdout
    assert not _can_sign_in(store_url, "bob", "first-password")
    assert _can_sign_in(store_url, "bob", "second-password")
    assert "second-password" not in second.stdout + second.stderr


def test_weak_password_is_refused(store_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _create_admin(store_url, "carol", "short", tmp_path)
    assert result.returncode != 0
    assert "at least 8 characters" in result.stderr
    assert not _can_sign_in(store_url, "carol", "short")
