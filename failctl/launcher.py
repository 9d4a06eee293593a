"""The `failctl` console script: names the extra to install instead of failing on an import.

The package installs with no dependencies (the functions' code needs only the Lambda runtime),
so `pip install lambda-failures` puts a `failctl` on PATH whose dependencies may be missing.
This module imports nothing outside the standard library until it knows they are there.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from failctl.exit_status import ExitStatus

INSTALL_HINT = "pip install 'lambda-failures[tooling]'"
OWN_PACKAGES = frozenset({"failctl", "lambda_failures", "failure_guards"})


def main(argv: Sequence[str] | None = None) -> int:
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
