"""Real receivers on loopback for the alert tests: an SMTP server (aiosmtpd), a webhook
receiver (http.server in a thread) and a receiver that accepts and never answers."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.pgserver import free_port


def no_renderer() -> Any:
    """A chart renderer source for tests that never build a PDF (alerts only)."""
    raise AssertionError("this test builds no PDF")


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[ReceivedMail] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.mails.append(
                ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message)  # type: ignore[arg-type]
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 and a free port; ``mails`` in arrival order."""

    def __init__(self, **controller_options: Any) -> None:
        self.inbox = _Inbox()
        self.port = free_port()
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, **controller_options
        )

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def mails(self) -> list[ReceivedMail]:
        return list(self.inbox.mails)


@dataclass
class ReceivedHook:
    path: str
    headers: Any  # http.client.HTTPMessage: case-insensitive, as HTTP is
    body: bytes


@dataclass
class WebhookReceiver:
    """Answers each POST with the next status of ``statuses`` (then 200), keeps them all."""

    statuses: list[int] = field(default_factory=list)
    hooks: list[ReceivedHook] = field(default_factory=list)

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.hooks.append(ReceivedHook(self.path, self.headers, body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/metrics?token=abc"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class HangingReceiver:
    """Accepts TCP connections, reads nothing back, never answers (until stopped)."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/hook"
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self._socket.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)
            self.accepted += 1

    def start(self) -> HangingReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._socket.close()
