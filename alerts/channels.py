"""The two transports: mail over the intranet relay (``smtplib``) and JSON webhooks
(``urllib``). Each call is bounded by its timeout and raises ``DeliveryError`` saying
whether a retry could help. Error texts never carry the relay password or the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from email.utils import parseaddr
from typing import Final

from alerts.types import DeliveryError, SmtpConfig

SIGNATURE_HEADER: Final = "X-Signature-SHA256"
USER_AGENT: Final = "admin-metrics-history-alerts/1"
# Webhook answers other than these are not worth retrying (the request itself is wrong).
_RETRYABLE_HTTP: Final = frozenset({408, 425, 429})


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of the body with the secret>`` (as GitHub's webhooks do)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """What a receiver does: constant-time compare of the header with our own signature."""
    return hmac.compare_digest(sign(body, secret), header)


# --- mail --------------------------------------------------------------------------------
def _tls_context(config: SmtpConfig) -> ssl.SSLContext:
    if config.ca_file is not None:
        return ssl.create_default_context(cafile=str(config.ca_file))
    return ssl.create_default_context()


def _connect(config: SmtpConfig, timeout: float) -> smtplib.SMTP:
    if config.security == "ssl":
        return smtplib.SMTP_SSL(
            config.host, config.port, timeout=timeout, context=_tls_context(config)
        )
    return smtplib.SMTP(config.host, config.port, timeout=timeout)


def send_mail(
    config: SmtpConfig | None, message: bytes, recipients: Sequence[str], *, timeout: float
) -> str | None:
    """Send one message to ``recipients``; returns a note when some (not all) were refused.

    STARTTLS is required when configured (never silently plain); login only over TLS
    unless SMTP_SECURITY=none was chosen deliberately.
    """
    if config is None:
        raise DeliveryError(
            "no mail relay configured (set SMTP_HOST and SMTP_FROM)", permanent=True
        )
    sender = parseaddr(config.sender)[1]
    try:
        with _connect(config, timeout) as client:
            client.ehlo()
            if config.security == "starttls":
                if not client.has_extn("starttls"):
                    raise DeliveryError(
                        f"the relay {config.host}:{config.port} does not offer STARTTLS "
                        "(SMTP_SECURITY=starttls)",
                        permanent=True,
                    )
                client.starttls(context=_tls_context(config))
                client.ehlo()
            if config.username:
                client.login(config.username, config.password or "")
            refused = client.sendmail(sender, list(recipients), message)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"relay login refused: {exc.smtp_code}", permanent=True) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(
            f"all recipients refused: {_refusals(exc.recipients)}", permanent=True
        ) from None
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise DeliveryError(
            f"relay answered {exc.smtp_code} {text}".strip(), permanent=500 <= exc.smtp_code < 600
        ) from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"TLS with the relay failed: {exc.reason or exc}") from None
    except TimeoutError:
        raise DeliveryError(f"the relay did not answer within {timeout:g} s") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            f"relay {config.host}:{config.port}: {type(exc).__name__}: {exc}"
        ) from None
    return f"refused: {_refusals(refused)}" if refused else None


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{address} ({code} {reply.decode('utf-8', 'replace')})"
        for address, (code, reply) in refused.items()
    )


# --- webhooks ----------------------------------------------------------------------------
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured: fail instead of re-posting elsewhere."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# No proxy from the environment: a webhook receiver is on the intranet, and an internet
# proxy configured for other tools must not see the alerts.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def post_webhook(
    url: str,
    body: bytes,
    *,
    signature: str | None,
    timeout: float,
    event: str,
    delivery_id: int,
) -> str | None:
    """POST the JSON ``body``; any 2xx is success. ``timeout`` bounds connecting and each
    read, so a receiver that accepts and never answers fails after ``timeout``."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Admin-Metrics-Event": event,
        "X-Admin-Metrics-Delivery": str(delivery_id),
    }
    if signature:
        headers[SIGNATURE_HEADER] = signature
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(64 * 1024)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
        permanent = 400 <= status < 500 and status not in _RETRYABLE_HTTP
        raise DeliveryError(
            f"HTTP {status} from {receiver_host(url)}", permanent=permanent
        ) from None
    except TimeoutError:
        raise DeliveryError(f"{receiver_host(url)} did not answer within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            raise DeliveryError(
                f"{receiver_host(url)} did not answer within {timeout:g} s"
            ) from None
        raise DeliveryError(f"{receiver_host(url)}: {reason}") from None
    except OSError as exc:
        raise DeliveryError(f"{receiver_host(url)}: {type(exc).__name__}: {exc}") from None
    if not 200 <= status < 300:
        raise DeliveryError(
            f"HTTP {status} from {receiver_host(url)}", permanent=300 <= status < 500
        )
    return None


def receiver_host(url: str) -> str:
    """The receiver's host:port for messages (never the path or query: it may hold a token)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url
