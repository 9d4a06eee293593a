"""`failctl replay`: print the plan, or execute it and print the outcome."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from contextlib import nullcontext
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from failctl.archive import replay
from failctl.archive.stores import Store, day_range, open_store
from failctl.errors import BadInputError, EnvironmentProblemError, ExitStatus, from_aws, unreadable
from lambda_failures.archive_format import RECORD_PREFIX

# A function's name as its records' prefix carries it (Lambda: letters, digits, - and _, 1 to 64).
LAMBDA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ReplayInputError(BadInputError):
    """Bad arguments or an unreadable source."""


def run(args: argparse.Namespace, client: Any = None) -> int:
    try:
        first, last = day_range(args.first, args.last)
        store = open_store(args.source, args.bucket_owner)
    except (FileNotFoundError, ValueError) as error:
        raise ReplayInputError(str(error)) from None
    except BotoCoreError as error:  # AWS_PROFILE naming a profile that is not configured
        raise from_aws(error, f"cannot open {args.source}") from None
    if args.execute and client is None:
        try:  # before reading anything: a machine that cannot invoke learns it at once
            client = replay.lambda_client()
        except (BotoCoreError, ClientError) as error:  # ClientError: a role the profile assumes refused
            raise from_aws(error, "replay --execute") from None
    key = getattr(args, "key", None)
    if key is not None and (not key.startswith(RECORD_PREFIX) or {"", ".", ".."} & set(key.split("/"))):
        # `..` would read a file outside a folder archive and write its claim outside the markers.
        raise ReplayInputError(f"--key {key!r} is not a failure record key ({RECORD_PREFIX}..., no '.' or '..' parts)")
    if args.function is not None and not LAMBDA_NAME.fullmatch(args.function):
        raise ReplayInputError(f"--function {args.function!r} is not a Lambda function name")
    selection = replay.Selection(args.function, first, last, args.error_type, args.action, key)
    report = replay.ReplayReport()
    stop = replay.Stop()
    with replay.stopped_by_signals(stop) if args.execute else nullcontext():
        plan = _plan(store, selection, report, args, stop)
        if not args.execute:
            _print_plan(plan, args.json)
            return 0
        replay.execute(
            store,
            client,
            [] if stop.stopping else plan,
            report,
            progress=not args.json,
            retry_uncertain=getattr(args, "retry_uncertain", False),
            concurrency=getattr(args, "concurrency", replay.DEFAULT_CONCURRENCY),
            rate=getattr(args, "rate", None),
            stop=stop,
            stop_wait=getattr(args, "stop_wait", replay.STOP_WAIT_SECONDS),
        )
    if stop.stopping and not report.outcomes and stop.signal is not None:
        # Stopped while reading: the records read so far may be done already, and the rest were
        # never read; say that, not "not sent" for each record read.
        name = signal.Signals(stop.signal).name
        print(
            f"failctl replay: {name} while reading {args.source} ({len(plan)} records read): "
            "nothing was claimed or sent; run it again to replay",
            file=sys.stderr,
        )
    _print_outcome(report, args.json)
    if stop.signal is not None:
        return ExitStatus(128 + stop.signal)  # the shell's code for a run ended by that signal
    if stop.environment is not None:
        raise EnvironmentProblemError(f"replay --execute stopped: {stop.environment}")
    return 1 if any(report.count(status) for status in ("failed", "uncertain", "not-sent")) else 0


def _plan(
    store: Store,
    selection: replay.Selection,
    report: replay.ReplayReport,
    args: argparse.Namespace,
    stop: replay.Stop,
) -> list[replay.PlannedReplay]:
    """The selected records, read until done or until the run is stopped."""
    plan: list[replay.PlannedReplay] = []
    try:
        for planned in replay.select(store, selection, report, with_state=not args.execute):
            if stop.stopping:
                break
            plan.append(planned)
    except (BotoCoreError, ClientError) as error:
        raise from_aws(error, f"cannot read {args.source}") from None
    except OSError as error:  # a folder or file of the source this user cannot read
        raise unreadable(error) from None
    for key, reason in report.unreadable:
        print(f"skipped {key}: {reason}", file=sys.stderr)
    return plan


def _print_plan(plan: list[replay.PlannedReplay], as_json: bool) -> None:
    pending = [p for p in plan if p.state is None or p.state.value == "failed"]
    if as_json:
        print(
            json.dumps(
                {
                    "plan": [
                        {
                            "key": p.summary.key,
                            "kind": p.summary.kind,
                            "function": p.summary.function,
                            "error_type": p.summary.error_type or p.summary.condition,
                            "replayed_at": p.replayed_at,
                            "claim": p.state.value if p.state else None,
                        }
                        for p in plan
                    ]
                },
                indent=2,
            )
        )
        return
    print(
        f"Dry run: {len(plan)} records selected, {len(pending)} would be re-driven "
        f"({len(plan) - len(pending)} already replayed or uncertain). Add --execute to re-drive them."
    )
    for p in plan:
        action = {"done": "already replayed", "uncertain": "uncertain: not re-driven without --retry-uncertain"}.get(
            p.state.value if p.state else "", f"would re-invoke {p.target}"
        )
        print(f"  {p.summary.kind:<6} {p.summary.error_type or p.summary.condition:<24} {action}")
        print(f"         {p.summary.key}")


def _print_outcome(report: replay.ReplayReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"outcomes": [o.__dict__ for o in report.outcomes]}, indent=2))
        return
    for o in report.outcomes:
        if o.status != "replayed" or o.was_uncertain:
            print(f"  {o.status:<8} {o.key}: {o.detail}")
    held, unsent = report.count("held"), report.count("not-sent")
    again = sum(1 for o in report.outcomes if o.was_uncertain)
    print(
        f"Replayed {report.count('replayed')}, partially {report.count('partial')}, "
        f"skipped {report.count('skipped')} (already replayed), failed {report.count('failed')}, "
        f"uncertain {report.count('uncertain')} (may have run: see --retry-uncertain)"
        + (f", held {held} (claimed by another run)" if held else "")
        + (f", not sent {unsent} (a later run re-drives them)" if unsent else "")
        + (f"; {again} of those re-driven were uncertain and may now have run twice" if again else "")
        + "."
    )
