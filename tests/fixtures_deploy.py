"""Fixtures for the deployment tests: a real nginx on loopback, a host-page web server,
and sign-in over real HTTP (``requests``) or in the browser.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.pgserver import free_port
from tests.support import wait_for


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# --- nginx ------------------------------------------------------------------------------
class Nginx:
    def __init__(self, proc: subprocess.Popen[bytes], root: Path, ports: list[int]) -> None:
        self.proc, self.root, self.ports = proc, root, ports

    def url(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def logs(self) -> str:
        parts = []
        for name in ("error.log", "access.log"):
            path = self.root / "logs" / name
            if path.exists():
                parts.append(f"--- nginx {name} ---\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        pytest.fail("nginx must be installed (scripts/test.sh does it)")
    return found


@pytest.fixture
def nginx_factory(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[Callable[[list[int]], str], int], Nginx]]:
    """``factory(servers, n_ports)``: nginx with ``servers(ports)`` as its server blocks,
    its own prefix folder, pid and logs under tmp, listening on ``n_ports`` free ports."""
    started: list[Nginx] = []

    def factory(servers: Callable[[list[int]], str], n_ports: int = 1) -> Nginx:
        root = tmp_path / f"nginx-{len(started)}"
        for sub in ("logs", "tmp"):
            (root / sub).mkdir(parents=True)
        ports = [free_port() for _ in range(n_ports)]
        user = "user root;" if os.geteuid() == 0 else ""
        conf = f"""
{user}
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {root}/logs/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    {servers(ports)}
}}
"""
        (root / "nginx.conf").write_text(conf)
        binary = nginx_binary()
        check = subprocess.run(
            [binary, "-t", "-p", str(root), "-c", str(root / "nginx.conf")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        proc = subprocess.Popen(
            [binary, "-p", str(root), "-c", str(root / "nginx.conf")],
            stdout=(root / "logs" / "stdout.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        server = Nginx(proc, root, ports)
        started.append(server)
        wait_for(
            lambda: proc.poll() is not None or all(_port_open("127.0.0.1", p) for p in ports),
            what="nginx to listen",
        )
        assert proc.poll() is None, server.logs()
        return server

    yield factory
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for server in started:
        server.stop()
        if failed:
            print(server.logs())


def proxy_location(prefix: str, app_port: int, extra: str = "") -> str:
    """nginx mounting the app (which itself lives under ``prefix``) at ``prefix``."""
    return f"""
        location {prefix} {{
            proxy_pass http://127.0.0.1:{app_port};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            {extra}
        }}"""


# --- a second origin for the iframe host page --------------------------------------------
class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return None


@pytest.fixture
def page_server(tmp_path: Path) -> Iterator[Callable[[str, str], str]]:
    """``serve(name, html)`` → URL of that page on its own loopback port (its own origin)."""
    servers: list[ThreadingHTTPServer] = []

    def serve(name: str, html: str) -> str:
        folder = tmp_path / f"site-{len(servers)}"
        folder.mkdir()
        (folder / name).write_text(html, encoding="utf-8")
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/{name}"

    yield serve
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()
