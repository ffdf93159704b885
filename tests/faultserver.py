"""A local HTTP server that misbehaves on purpose, per path, on real sockets.

Each path gets a script: a list of faults, one per request (the last repeats). A fault is one of

    Fault.ok(body, content_type)          200 with the body
    Fault.status(code, headers)           that status, short body
    Fault.reset()                         TCP reset (RST) right after the request is read
    Fault.truncated(body)                 headers promise more bytes than are sent, then close
    Fault.slow(seconds, body)             wait before answering (past the client's timeout)
    Fault.redirect(location, code)        a redirect

or, for paths without a script, whatever ``dynamic(path, count)`` returns.

Bounded: it only answers on 127.0.0.1 and stops with the test.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0

    @staticmethod
    def ok(body: bytes, content_type: str = "text/html; charset=utf-8") -> Fault:
        return Fault("respond", 200, body, content_type)

    @staticmethod
    def status_(code: int, headers: dict[str, str] | None = None) -> Fault:
        return Fault("respond", code, b"fault", "text/plain", tuple((headers or {}).items()))

    @staticmethod
    def reset() -> Fault:
        return Fault("reset")

    @staticmethod
    def truncated(body: bytes) -> Fault:
        return Fault("truncated", 200, body)

    @staticmethod
    def slow(seconds: float, body: bytes = b"<p>late</p>") -> Fault:
        return Fault("respond", 200, body, delay=seconds)

    @staticmethod
    def drip(every: float, body: bytes) -> Fault:
        """Headers at once, then the body one byte per ``every`` seconds (never a read
        timeout, yet it would take len(body) * every seconds)."""
        return Fault("drip", 200, body, delay=every)

    @staticmethod
    def drip_headers(every: float) -> Fault:
        """The status line and headers themselves one byte per ``every`` seconds: no read ever
        times out, and the response never gets to its body."""
        return Fault("drip_headers", 200, b"<p>late</p>", delay=every)

    @staticmethod
    def redirect(location: str, code: int = 302) -> Fault:
        return Fault("respond", code, b"", headers=(("Location", location),))


@dataclass
class FaultServer:
    scripts: dict[str, list[Fault]] = field(default_factory=dict)
    # Paths without a script go here: (path, how many times it was asked before) -> Fault.
    dynamic: Callable[[str, int], Fault] | None = None
    hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def __post_init__(self) -> None:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                owner._handle(self.connection, self.rfile)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._lock = threading.Lock()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def script(self, path: str, *faults: Fault) -> None:
        self.scripts[path] = list(faults)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @staticmethod
    def _drip(conn: socket.socket, fault: Fault) -> None:
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: {fault.content_type}\r\n"
                f"Content-Length: {len(fault.body)}\r\nConnection: close\r\n\r\n")  # fmt: skip
        with contextlib.suppress(OSError):  # the client hung up: the test is over
            conn.sendall(head.encode())
            for byte in fault.body:
                time.sleep(fault.delay)
                conn.sendall(bytes([byte]))

    def _handle(self, conn: socket.socket, rfile: object) -> None:
        request_line = rfile.readline().decode("latin-1")  # type: ignore[attr-defined]
        while rfile.readline() not in (b"\r\n", b"\n", b""):  # type: ignore[attr-defined]
            pass
        path = request_line.split(" ")[1] if request_line.count(" ") >= 2 else "/"
        with self._lock:
            count = self.hits[path]
            self.hits[path] += 1
        if path not in self.scripts and self.dynamic is not None:
            fault = self.dynamic(path, count)
        else:
            script = self.scripts.get(path) or [Fault.status_(404)]
            fault = script[min(count, len(script) - 1)]
        if fault.kind == "reset":
            # SO_LINGER 0 makes close() send RST instead of FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        if fault.kind == "drip":
            self._drip(conn, fault)
            return
        if fault.kind == "drip_headers":
            head = "HTTP/1.1 200 OK\r\n" + "X-Slow: " + "x" * 10_000 + "\r\n\r\n"
            with contextlib.suppress(OSError):  # the client hung up: the test is over
                for byte in head.encode():
                    time.sleep(fault.delay)
                    conn.sendall(bytes([byte]))
            return
        time.sleep(fault.delay)
        promised = len(fault.body) * 10 if fault.kind == "truncated" else len(fault.body)
        head = [f"HTTP/1.1 {fault.status} X", f"Content-Type: {fault.content_type}",
                f"Content-Length: {promised}", "Connection: close"]  # fmt: skip
        head += [f"{k}: {v}" for k, v in fault.headers]
        with contextlib.suppress(OSError):  # the client gave up (timeout): nothing left to do
            conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + fault.body)
