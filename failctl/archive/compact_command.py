"""`failctl compact`: compact every closed day not yet compacted and print what happened."""

from __future__ import annotations

import argparse
import json
import sys

import duckdb
from botocore.exceptions import BotoCoreError, ClientError

from failctl.archive import compaction
from failctl.archive.replay_command import LAMBDA_NAME
from failctl.archive.stores import open_store
from failctl.errors import BadInputError, EnvironmentProblemError, from_aws


class CompactInputError(BadInputError):
    """Bad arguments or an unreadable source."""


def run(args: argparse.Namespace) -> int:
    if args.function is not None and not LAMBDA_NAME.fullmatch(args.function):
        raise CompactInputError(f"--function {args.function!r} is not a Lambda function name")
    if args.first and args.last and args.last < args.first:
        raise CompactInputError(f"--to {args.last} is before --from {args.first}")
    try:
        store = open_store(args.source, args.bucket_owner)
        done = compaction.compact(store, args.function, args.first, args.last, takeover_seconds=args.takeover_seconds)
    except (FileNotFoundError, ValueError) as error:
        raise CompactInputError(str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise from_aws(error, f"cannot compact {args.source}") from None
    except duckdb.Error as error:
        raise CompactInputError(f"compaction failed: {error}") from None
    except OSError as error:  # e.g. a folder this user cannot write its claims or files into
        raise EnvironmentProblemError(f"cannot compact {args.source}: {error}") from None
    for _, load in done:
        for key, reason in load.skipped:
            print(f"skipped {key}: {reason}", file=sys.stderr)
    outcomes = [outcome for outcome, _ in done]
    if args.json:
        rows = [
            {"function": o.function, "day": o.day.isoformat(), "status": o.status, "detail": o.detail, "files": o.files}
            for o in outcomes
        ]
        print(json.dumps({"days": rows}, indent=2))
    else:
        if not outcomes:
            print("no closed day to compact (a day closes two days after it starts, UTC)")
        for o in outcomes:
            print(f"{o.status:<10} {o.function} {o.day.isoformat()}  {o.detail}")
        counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("compacted", "skipped", "failed")}
        print(f"{counts['compacted']} compacted, {counts['skipped']} skipped, {counts['failed']} failed")
    return 1 if any(o.status == "failed" for o in outcomes) else 0
