"""`failctl`: command-line entry point for operators."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from failctl.errors import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_OK, BadInputError, EnvironmentProblemError
from failctl.errors import EXIT_FAILED as EXIT_VIOLATIONS


class _Parser(argparse.ArgumentParser):
    """Bad arguments are one line on stderr and exit code 2, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="failctl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    preview = commands.add_parser("preview", help="run the program offline, as a fresh stack's preview sees it")
    preview.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to use")
    preview.add_argument(
        "--cwd", type=Path, metavar="DIR", help="the Pulumi Python program to preview (default: this project)"
    )
    preview.add_argument(
        "--account", help="12-digit account the stack deploys to (default: the account of your AWS credentials)"
    )
    preview.add_argument("--region", help="region the stack deploys to (default: the stack's aws:region)")
    preview.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        type=_key_value,
        help="value of a secure: stack key the offline preview cannot decrypt (kept secret, never printed)",
    )
    preview.add_argument(
        "--stack-reference",
        action="append",
        default=[],
        metavar="NAME=FILE",
        type=_key_value,
        help="outputs of a stack the program references (`pulumi stack output --json` of it)",
    )
    preview.add_argument("--json", action="store_true", help="print the plan as JSON (same as --format json)")
    _format_argument(preview)
    _pack_arguments(preview, required=False)

    audit_cmd = commands.add_parser(
        "audit", help="evaluate the policy pack over `pulumi stack export` output (FILE or - for stdin)"
    )
    audit_cmd.add_argument("export", help="stack export file, or - to read standard input")
    audit_cmd.add_argument("--json", action="store_true", help="print the verdict as JSON (same as --format json)")
    _format_argument(audit_cmd)
    _pack_arguments(audit_cmd, required=False, default="policy")

    query = commands.add_parser("query", help="run a named query (or --sql) locally or in Athena")
    query.add_argument("name", nargs="?", help="named query: " + ", ".join(_query_names()))
    query.add_argument("--sql", help="your own Athena SQL instead of a named query")
    query.add_argument("--source", help="folder laid out like the archive, or s3://bucket[/prefix]")
    query.add_argument("--from", dest="first", type=_day, help="first day, YYYY-MM-DD (UTC)")
    query.add_argument("--to", dest="last", type=_day, help="last day, YYYY-MM-DD (UTC)")
    query.add_argument("--json", action="store_true", help='print {"rows": [...]}')
    query.add_argument("--plot", type=Path, metavar="FILE.png", help="failures-per-day: also draw it as a PNG")
    _owner_argument(query)
    query.add_argument("--athena", action="store_true", help="run in the deployed Athena workgroup")
    query.add_argument("--stack", help="with --athena: read workgroup and database from this stack's outputs")
    query.add_argument("--workgroup", help="with --athena: the workgroup")
    query.add_argument("--database", help="with --athena: the Glue database")
    query.add_argument(
        "--table",
        help="with --athena --workgroup: the table named queries read (default failed_events; the stack's "
        "view of compacted plus raw days is failed_events_all_days)",
    )

    replay = commands.add_parser("replay", help="re-drive archived failures (dry run unless --execute)")
    replay.add_argument("--source", required=True, help="folder laid out like the archive, or s3://bucket[/prefix]")
    replay.add_argument("--function", help="only records of this function")
    replay.add_argument("--from", dest="first", type=_day, help="first day, YYYY-MM-DD (UTC)")
    replay.add_argument("--to", dest="last", type=_day, help="last day, YYYY-MM-DD (UTC)")
    replay.add_argument("--error-type", help="only this errorType (or condition, e.g. EventAgeExceeded)")
    replay.add_argument("--action", help="only async events with this action")
    replay.add_argument("--key", help="only this record (its object key, as in an alert)")
    replay.add_argument(
        "--concurrency", type=_bounded_int(1, 64), default=8, help="records in flight at once (1..64, default 8)"
    )
    replay.add_argument("--rate", type=_positive_float, metavar="N", help="start at most N records per second")
    replay.add_argument("--execute", action="store_true", help="re-drive for real (default: print the plan)")
    replay.add_argument(
        "--retry-uncertain",
        action="store_true",
        help="also re-drive records whose earlier replay may or may not have run (they could run twice)",
    )
    replay.add_argument("--json", action="store_true", help="print the plan or the outcome as JSON")
    _owner_argument(replay)

    compact = commands.add_parser("compact", help="rewrite closed days of async records as Parquet, each once")
    compact.add_argument("--source", required=True, help="folder laid out like the archive, or s3://bucket[/prefix]")
    compact.add_argument("--function", help="only this function's days")
    compact.add_argument("--from", dest="first", type=_day, help="first day, YYYY-MM-DD (UTC)")
    compact.add_argument("--to", dest="last", type=_day, help="last day, YYYY-MM-DD (UTC)")
    compact.add_argument(
        "--takeover-seconds",
        type=_positive_float,
        default=900.0,
        help="a claim older than this is a dead run's: its day is compacted again (default 900)",
    )
    compact.add_argument("--json", action="store_true", help="print the outcome per day as JSON")
    _owner_argument(compact)

    demo = commands.add_parser(
        "demo", help="the whole flow locally: gate, emulated Lambda on moto, alerts, queries, replay"
    )
    demo.add_argument(
        "--keep", metavar="DIR", type=Path, help="leave the demo's archive in DIR, laid out like the bucket"
    )
    return parser


def _owner_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bucket-owner",
        metavar="ACCOUNT",
        help="with an s3:// source: the account that must own the bucket (default: the account an "
        "account-regional name ends with, else your own)",
    )


def _query_names() -> list[str]:
    from lambda_failures.queries import named_queries

    return [q.name for q in named_queries()]


def _format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("text", "json", "sarif", "junit"),
        default=None,
        help="text (default), json, sarif (SARIF 2.1.0, for code scanning) or junit (JUnit XML, for CI reports)",
    )


def _output_format(args: argparse.Namespace) -> str:
    return args.format or ("json" if args.json else "text")


def _bounded_int(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not within {low}..{high}")
        return value

    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text.removesuffix("/s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of records per second")
    return value


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text.split('=')[0]!r}: expected KEY=VALUE")
    return key, value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _pack_arguments(parser: argparse.ArgumentParser, required: bool, default: str | None = None) -> None:
    parser.add_argument(
        "--policy-pack", required=required, default=default, metavar="DIR", help="policy pack folder to evaluate"
    )
    parser.add_argument(
        "--policy-pack-config", metavar="FILE", help="JSON pack config, as for `pulumi preview --policy-pack-config`"
    )


# Pulumi and the pack load only for the commands that run them: query and replay start fast.


def _gate(args: argparse.Namespace, resources: Any) -> Any:
    from failctl.preview import gate

    pack = gate.load_pack(args.policy_pack)
    config = gate.load_config(args.policy_pack_config, pack)
    verdict = gate.evaluate(pack, resources, config)
    verdict.pack_handle, verdict.config = pack, config
    return verdict


def _print_verdict(verdict: Any, output: str) -> bool:
    """SARIF or JUnit when asked for; False when the format is one this prints elsewhere."""
    from failctl.preview import report_formats

    if output == "sarif":
        print(report_formats.sarif(verdict, verdict.pack_handle, verdict.config))
    elif output == "junit":
        print(report_formats.junit(verdict, verdict.pack_handle))
    else:
        return False
    return True


def _preview(args: argparse.Namespace) -> int:
    from failctl.preview import gate, render
    from failctl.preview.synth import AccountUnknownError, StackConfigError, synthesize
    from lambda_failures.components.settings import ConfigError

    output = _output_format(args)
    if output in ("sarif", "junit") and not args.policy_pack:
        raise BadInputError(f"--format {output} reports a verdict: add --policy-pack DIR")
    try:
        synthesis = synthesize(
            args.stack,
            account_id=args.account,
            region=args.region,
            secrets=dict(args.secret),
            stack_references=_stack_references(args.stack_reference),
            **({"project_dir": args.cwd} if args.cwd else {}),
        )
        verdict = _gate(args, synthesis.resources) if args.policy_pack else None
    except AccountUnknownError as error:
        print(f"failctl preview: {error}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    except (ConfigError, StackConfigError, gate.GateInputError) as error:
        print(f"failctl preview: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # the program itself failed: say where, without a traceback
        print(f"failctl preview: the program failed: {type(error).__name__}: {_one_line(error)[:500]}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for warning in synthesis.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if verdict is not None and _print_verdict(verdict, output):
        pass
    elif output == "json":
        document = render.synthesis_json(synthesis)
        if verdict is not None:
            document.update(verdict.as_json())
        print(json.dumps(document, indent=2))
    else:
        print("\n".join(render.tree_lines(synthesis)))
        if verdict is not None:
            print()
            print("\n".join(gate.report_lines(verdict)))
    return EXIT_VIOLATIONS if verdict is not None and verdict.blocked else EXIT_OK


def _stack_references(pairs: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    references = {}
    for name, path in pairs:
        try:
            outputs = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise BadInputError(f"--stack-reference {name}: cannot read {path}: {error}") from None
        if not isinstance(outputs, dict):
            raise BadInputError(f"--stack-reference {name}: {path} must hold a JSON object of outputs")
        references[name] = outputs
    return references


def _one_line(error: Exception) -> str:
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())


def _audit(args: argparse.Namespace) -> int:
    from failctl.preview import audit, gate

    try:
        text = sys.stdin.read() if args.export == "-" else audit.read_text(args.export)
        resources = audit.resources_from_export(text)
        verdict = _gate(args, resources)
    except (audit.ExportError, gate.GateInputError) as error:
        print(f"failctl audit: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    output = _output_format(args)
    if _print_verdict(verdict, output):
        pass
    elif output == "json":
        print(json.dumps(verdict.as_json(), indent=2))
    else:
        print("\n".join(gate.report_lines(verdict)))
    return EXIT_VIOLATIONS if verdict.blocked else EXIT_OK


def _query(args: argparse.Namespace) -> int:
    from failctl.archive import query_command

    return query_command.run(args)


def _replay(args: argparse.Namespace) -> int:
    from failctl.archive import replay_command

    return replay_command.run(args)


def _compact(args: argparse.Namespace) -> int:
    from failctl.archive import compact_command

    return compact_command.run(args)


def _demo(args: argparse.Namespace) -> int:
    from failctl.emulation import demo

    return demo.run(keep=args.keep)


COMMANDS = {
    "preview": _preview,
    "audit": _audit,
    "query": _query,
    "replay": _replay,
    "compact": _compact,
    "demo": _demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BadInputError as error:
        print(f"failctl {args.command}: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except EnvironmentProblemError as error:
        print(f"failctl {args.command}: {_one_line(error)}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    except KeyboardInterrupt:
        print(f"failctl {args.command}: interrupted", file=sys.stderr)
        return 130
