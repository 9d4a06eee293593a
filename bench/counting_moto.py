"""moto's server (S3 object requests made atomic, as the tests run it) that counts what it is
asked, so a benchmark can prove both sides made the requests it says they made.

GET /_bench/counts answers {"<METHOD> <kind>": n}; POST /_bench/counts resets them. Kinds:
`object`, `list` (a bucket listing), `create` (PUT with If-None-Match), `settle` (PUT with If-Match).
Run: python bench/counting_moto.py PORT (with tests/ on PYTHONPATH).
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter

from moto.moto_server import threaded_moto_server
from moto.s3.responses import S3Response
from support.atomic_moto import _atomic_key_response

_counts: Counter[str] = Counter()
_lock = threading.Lock()
_App = threaded_moto_server.DomainDispatcherApplication


def _kind(environ: dict) -> str:
    if environ.get("HTTP_IF_NONE_MATCH"):
        return "create"
    if environ.get("HTTP_IF_MATCH"):
        return "settle"
    path = environ.get("PATH_INFO", "").strip("/")
    return "object" if "/" in path else "list"


class CountingApp(_App):
    def __call__(self, environ: dict, start_response):  # type: ignore[override]
        if environ.get("PATH_INFO") == "/_bench/counts":
            with _lock:
                body = json.dumps(dict(_counts)).encode()
                if environ["REQUEST_METHOD"] == "POST":
                    _counts.clear()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        with _lock:
            _counts[f"{environ['REQUEST_METHOD']} {_kind(environ)}"] += 1
        return super().__call__(environ, start_response)


def main(port: int) -> None:
    S3Response.key_response = _atomic_key_response
    threaded_moto_server.DomainDispatcherApplication = CountingApp
    server = threaded_moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    threading.Event().wait()


if __name__ == "__main__":
    main(int(sys.argv[1]))
