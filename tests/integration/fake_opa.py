"""An HTTP server in front of the real OPA that can slow it down or break it, for the failure tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class FakeOpa:
    """An HTTP server in front of the real OPA: forwards, delays, or answers a fixed status and body. A decision
    whose body is at least ``slow_from`` bytes waits ``delay``; a slow OPA (``slow_from`` 0) is slow to answer
    its health check too."""

    def __init__(self, upstream: str) -> None:
        self.upstream, self.delay, self.fixed = upstream, 0.0, None
        self.slow_from = 0
        self.requests = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if fake.slow_from == 0:
                    time.sleep(fake.delay)
                self._answer(200, b"{}")

            def do_POST(self) -> None:
                fake.requests += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if len(body) >= fake.slow_from:
                    time.sleep(fake.delay)
                if fake.fixed is not None:
                    status, payload = fake.fixed
                else:
                    answer = requests.post(fake.upstream + self.path, data=body, timeout=30)
                    status, payload = answer.status_code, answer.content
                self._answer(status, payload)

            def _answer(self, status: int, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as the slow-OPA test intends

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def serving_fake_opa(upstream: str) -> Iterator[FakeOpa]:
    """A :class:`FakeOpa` in front of ``upstream``, serving on loopback until the block ends."""
    fake = FakeOpa(upstream)
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
