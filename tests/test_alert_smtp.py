"""The mail transport against a real TLS relay on loopback (aiosmtpd with a certificate of a
test CA from trustme): STARTTLS with login, implicit TLS, an untrusted certificate, a wrong
password — and the password never appears in an error."""

from __future__ import annotations

import email.policy
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from alerts.channels import send_mail
from alerts.types import DeliveryError, SmtpConfig
from tests.alert_receivers import SmtpServer

PASSWORD = "relay-pass-0123"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "intranet-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"metrics",
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def starttls_relay(server_context: ssl.SSLContext) -> Iterator[SmtpServer]:
    server = SmtpServer(
        tls_context=server_context,
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator,
    ).start()
    yield server
    server.stop()


def _message() -> bytes:
    message = EmailMessage()
    message["Subject"] = "[주의·발생] 테스트"
    message["From"] = "metrics@intranet.example"
    message["To"] = "ops@intranet.example"
    message.set_content("본문")
    return message.as_bytes(policy=email.policy.SMTP)


def _config(port: int, **overrides: Any) -> SmtpConfig:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "starttls",
        "sender": "Admin Metrics <metrics@intranet.example>",
        "username": "metrics",
        "password": PASSWORD,
    }
    values.update(overrides)
    return SmtpConfig(**values)


def test_starttls_with_login_through_the_intranet_ca(
    starttls_relay: SmtpServer, ca_file: Path
) -> None:
    config = _config(starttls_relay.port, ca_file=ca_file)
    assert send_mail(config, _message(), ["ops@intranet.example"], timeout=10) is None
    (mail,) = starttls_relay.mails
    assert mail.mail_from == "metrics@intranet.example"
    assert mail.message["Subject"] == "[주의·발생] 테스트"
    assert PASSWORD not in repr(config)


def test_an_untrusted_relay_certificate_is_refused(starttls_relay: SmtpServer) -> None:
    with pytest.raises(DeliveryError) as info:
        send_mail(_config(starttls_relay.port), _message(), ["ops@intranet.example"], timeout=10)
    assert "TLS with the relay failed" in str(info.value)
    assert not info.value.permanent  # a fixed certificate makes the next attempt work
    assert starttls_relay.mails == []


def test_a_wrong_password_fails_for_good_without_showing_it(
    starttls_relay: SmtpServer, ca_file: Path
) -> None:
    config = _config(starttls_relay.port, ca_file=ca_file, password="wrong-pass-9876")
    with pytest.raises(DeliveryError) as info:
        send_mail(config, _message(), ["ops@intranet.example"], timeout=10)
    assert info.value.permanent
    assert "relay login refused: 535" in str(info.value)
    assert "wrong-pass-9876" not in str(info.value)


def test_implicit_tls(server_context: ssl.SSLContext, ca_file: Path) -> None:
    server = SmtpServer(ssl_context=server_context).start()
    try:
        config = _config(server.port, security="ssl", ca_file=ca_file, username=None, password=None)
        send_mail(config, _message(), ["ops@intranet.example", "lead@intranet.example"], timeout=10)
        (mail,) = server.mails
        assert mail.rcpt_tos == ["ops@intranet.example", "lead@intranet.example"]
    finally:
        server.stop()


def test_an_unreachable_relay_is_worth_retrying() -> None:
    from tests.pgserver import free_port

    with pytest.raises(DeliveryError) as info:
        send_mail(_config(free_port(), security="none"), _message(), ["a@b.example"], timeout=3)
    assert not info.value.permanent
    assert "ConnectionRefusedError" in str(info.value)
