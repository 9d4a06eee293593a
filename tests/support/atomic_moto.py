"""moto's server, with S3 object requests made atomic as S3's are.

S3 evaluates If-None-Match/If-Match together with the write; moto checks, then writes, and
reads and writes of one key race across its threads. One lock around moto's object requests
gives the per-request atomicity S3 documents, so tests judge our claims, not moto's races.
Run: python -m support.atomic_moto PORT
"""

from __future__ import annotations

import sys
import threading

from moto.s3.responses import S3Response
from moto.server import ThreadedMotoServer

_lock = threading.Lock()
_key_response = S3Response.key_response


def _atomic_key_response(self, *args, **kwargs):
    with _lock:
        return _key_response(self, *args, **kwargs)


def main(port: int) -> None:
    S3Response.key_response = _atomic_key_response
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    threading.Event().wait()


if __name__ == "__main__":
    main(int(sys.argv[1]))
