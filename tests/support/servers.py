"""Loopback stand-ins for AWS: moto's server in its own process, and a Lambda that counts.

Every request goes to 127.0.0.1 only; servers stop when their context ends.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "eu-west-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def aws_env(**endpoints: str) -> dict[str, str]:
    """Environment for a child process whose AWS calls go to the given loopback endpoints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    env |= {f"AWS_ENDPOINT_URL_{service.upper()}": url for service, url in endpoints.items()}
    return env


@contextmanager
def moto_server(program: tuple[str, ...] = ("-m", "support.atomic_moto")) -> Iterator[str]:
    """moto's server (S3 made atomic) in a child process; yields its URL. `program` is what the
    interpreter runs, given the port last (the benchmarks' counting server is one)."""
    port = free_port()
    env = aws_env() | {"PYTHONPATH": os.pathsep.join([str(TESTS_DIR), str(TESTS_DIR.parent)])}
    process = subprocess.Popen(
        [sys.executable, *program, str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(timeout=10)


def _access_key(authorization: str) -> str:
    """The access key a SigV4 request is signed with (`Credential=<key>/<date>/...`)."""
    credential = authorization.partition("Credential=")[2]
    return credential.split("/", 1)[0]


class CountingLambda:
    """Answers Lambda's Invoke API on loopback and counts each payload it receives.

    `fail_after_accept(n)`: every n-th invocation is counted (it ran) and answered 500.
    `hang_on(i)`: the i-th invocation is counted and never answered (until the server stops).
    `delay`: seconds every answer takes after the invocation was counted (time for a signal to
    find invocations in flight).
    `callers`: when set, every invocation is held until that many callers (told apart by the
    access key their requests are signed with) have invoked, so concurrent runs surely overlap
    however the machine schedules their start; `callers_seen` holds the keys.
    """

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.requests = 0
        self._lock = threading.Lock()
        self.fail_every: int | None = None
        self.hang_at: int | None = None
        self.delay = 0.0
        self.callers: int | None = None
        self.callers_seen: set[str] = set()
        self._all_callers = threading.Event()
        self.hanging = threading.Event()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        lam = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lam._lock:
                    lam.requests += 1
                    number = lam.requests
                    lam.received[body.decode()] += 1
                    lam.callers_seen.add(_access_key(self.headers.get("Authorization", "")))
                    if lam.callers and len(lam.callers_seen) >= lam.callers:
                        lam._all_callers.set()
                if lam.callers:
                    lam._all_callers.wait(120)
                if lam.delay:
                    time.sleep(lam.delay)
                if lam.hang_at == number:
                    lam.hanging.set()
                    lam._release.wait(120)
                    return
                if lam.fail_every and number % lam.fail_every == 0:
                    self._answer(500, {"Type": "Service", "message": "internal"}, "ServiceException")
                    return
                self._answer(202, None)

            def _answer(self, status: int, payload: object, error: str | None = None) -> None:
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                if error:
                    self.send_header("x-amzn-ErrorType", error)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def __enter__(self) -> CountingLambda:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
