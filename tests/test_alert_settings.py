"""Mail relay and alert settings: a bad value stops start-up with one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin_metrics.settings import Settings, SettingsError, load_settings


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"SMTP_SECURITY": "tls"}, "SMTP_SECURITY"),
        ({"SMTP_PORT": "0"}, "SMTP_PORT"),
        ({"SMTP_PORT": "smtp"}, "SMTP_PORT"),
        ({"SMTP_HOST": "relay.intranet", "SMTP_FROM": "not-an-address"}, "SMTP_FROM"),
        ({"SMTP_HOST": "relay.intranet"}, "SMTP_FROM"),
        ({"SMTP_USERNAME": "metrics"}, "SMTP_PASSWORD"),
        ({"SMTP_CA_FILE": "/nonexistent/ca.pem"}, "SMTP_CA_FILE"),
        ({"PUBLIC_URL": "intranet/metrics"}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "https://intranet.example/metrics/?x=1"}, "PUBLIC_URL"),
        ({"STORAGE_CAPACITY_BYTES": "-1"}, "STORAGE_CAPACITY_BYTES"),
        ({"ALERT_DELIVERY_TIMEOUT_SECONDS": "0"}, "ALERT_DELIVERY_TIMEOUT_SECONDS"),
        ({"ALERT_DELIVERY_ATTEMPTS": "many"}, "ALERT_DELIVERY_ATTEMPTS"),
    ],
)
def test_bad_mail_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert "\n" not in message
    assert name in message


def test_smtp_password_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-relay")
    with pytest.raises(SettingsError) as info:  # a password without a user name
        load_settings(_env_file=None)
    assert "hunter2-relay" not in str(info.value)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, smtp_username="metrics", smtp_password="hunter2-relay"
    )
    assert "hunter2-relay" not in repr(settings)


def test_port_follows_security_and_public_url_ends_with_a_slash(tmp_path: Path) -> None:
    base = {"_env_file": None, "data_dir": tmp_path}
    assert Settings(**base, smtp_security="none").smtp_port_or_default == 25  # type: ignore[arg-type]
    assert Settings(**base).smtp_port_or_default == 587  # type: ignore[arg-type]
    assert Settings(**base, smtp_security="ssl").smtp_port_or_default == 465  # type: ignore[arg-type]
    assert Settings(**base, smtp_port=2525).smtp_port_or_default == 2525  # type: ignore[arg-type]
    settings = Settings(**base, public_url="https://intranet.example/metrics")  # type: ignore[arg-type]
    assert settings.public_base_url == "https://intranet.example/metrics/"
    assert Settings(**base, smtp_host="", public_url="").public_base_url is None  # type: ignore[arg-type]
