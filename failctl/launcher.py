"""The `failctl` console script: names the extra to install instead of failing on an import.

The package installs with no dependencies (the functions' code needs only the Lambda runtime),
so `pip install lambda-failures` puts a `failctl` on PATH whose dependencies may be missing.
This module imports nothing outside the standard library until it knows they are there.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence

from failctl.exit_status import ExitStatus

INSTALL_HINT = "pip install 'lambda-failures[tooling]'"
OWN_PACKAGES = frozenset({"failctl", "lambda_failures", "failure_guards"})


EXIT_INTERRUPTED = 130  # 128 + SIGINT
STOP_SECONDS = 15
_signals: list[int] = []  # the interrupting signals received


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGINT, _on_interrupt)
    try:
        code = _run(argv)
    except KeyboardInterrupt:
        print("failctl: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    if _signals:
        if code != EXIT_INTERRUPTED:
            # Ctrl-C landed where the interpreter swallows it (an import's callback) or turned it
            # into another error: it is still an interruption, never a result or a missing extra.
            print("failctl: interrupted", file=sys.stderr)
        code = 128 + _signals[0]
        if "failctl.preview.gate" in sys.modules:
            _exit_interrupted(code)
    return code


def stop_on_sigterm() -> None:
    """For commands that start processes of their own (preview, audit): a cancelled CI job's
    SIGTERM stops them as Ctrl-C does (the program's and the pack's processes end too), exit 143."""
    signal.signal(signal.SIGTERM, _on_interrupt)


def _exit_interrupted(code: int) -> None:
    """Stop the pack processes we started, within a bound, then exit at once: an interrupt may
    have left a lock of gRPC's threads held, and a normal exit would wait on it for ever."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    stopping = threading.Thread(target=sys.modules["failctl.preview.gate"].stop_all, daemon=True)
    stopping.start()
    stopping.join(STOP_SECONDS)
    os._exit(code)


def _on_interrupt(signum: int, frame: object) -> None:
    _signals.append(signum)
    raise KeyboardInterrupt


def _run(argv: Sequence[str] | None) -> int:
    try:
        from failctl.cli import main as run
    except ModuleNotFoundError as error:
        return _missing(error)
    try:
        return run(argv)
    except ModuleNotFoundError as error:  # a subcommand's own import, made when it runs
        return _missing(error)


def _missing(error: ModuleNotFoundError) -> int:
    name = (error.name or "").split(".")[0]
    if not name or name in OWN_PACKAGES:
        raise error  # our own module missing is a broken install, not a missing extra
    print(f"failctl: {name} is not installed; failctl needs the tooling extra: {INSTALL_HINT}", file=sys.stderr)
    return ExitStatus.ENVIRONMENT
