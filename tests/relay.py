"""A loopback TCP relay in front of a real server, for network faults in tests and benchmarks.

``hang()`` stops forwarding bytes in both directions while every connection stays open —
what a source behind a dead switch or a stuck firewall looks like to a client: no error, no
reset, just silence. New connections are still accepted (the client's connect succeeds) but
get no answer either. ``hang_on(pattern)`` hangs the moment a client sends bytes containing
``pattern`` (those bytes are held back), so a test can stop the source in the middle of a
collection, at a chosen query. ``resume()`` forwards again.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time


class TcpRelay:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._trigger: bytes | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self.hung_at: float | None = None  # time.monotonic() of the last hang
        self.connections = 0

    def start(self) -> TcpRelay:
        threading.Thread(target=self._accept, name="relay-accept", daemon=True).start()
        return self

    # --- control -----------------------------------------------------------------------
    def hang(self) -> None:
        with self._lock:
            self._hang_locked()

    def hang_on(self, pattern: bytes) -> None:
        with self._lock:
            self._trigger = pattern

    def resume(self) -> None:
        with self._lock:
            self._trigger = None
            self._forwarding.set()

    @property
    def is_hung(self) -> bool:
        return not self._forwarding.is_set()

    def close(self) -> None:
        self._closed.set()
        self._forwarding.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _hang_locked(self) -> None:
        if self._forwarding.is_set():
            self.hung_at = time.monotonic()
        self._forwarding.clear()

    # --- forwarding --------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
                self.connections += 1
            for src, dst, inspect in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(src, dst, inspect), name="relay-pump", daemon=True
                ).start()

    def _pump(self, src: socket.socket, dst: socket.socket, inspect: bool) -> None:
        held = b""
        try:
            while not self._closed.is_set():
                if not self._forwarding.wait(0.05):
                    continue  # hung: read nothing, send nothing, keep the connection open
                if held:
                    dst.sendall(held)
                    held = b""
                ready, _, _ = select.select([src], [], [], 0.05)
                if not ready:
                    continue
                data = src.recv(65536)
                if not data:
                    break
                with self._lock:
                    if inspect and self._trigger is not None and self._trigger in data:
                        self._trigger = None
                        self._hang_locked()
                    hung = not self._forwarding.is_set()
                if hung:
                    held = data
                    continue
                dst.sendall(data)
        except (OSError, ValueError):  # a socket closed under us (``close()``, the peer)
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
