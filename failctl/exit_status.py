"""failctl's exit codes, in a module of the standard library alone: the console script reads
them before it knows the tooling extra's dependencies are installed."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """failctl's exit codes (ints, as the shell reads them)."""

    OK = 0
    FAILED = 1  # violations, or work that failed
    BAD_INPUT = 2
    ENVIRONMENT = 3
    HANGUP = 129  # 128 + SIGHUP: the terminal closed; a replay settles what it holds, as on Ctrl-C
    INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it
    BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away
    TERMINATED = 143  # 128 + SIGTERM: a replay stopped cleanly when asked to (CI cancelling a job)
