"""`failctl`: command-line entry point for operators."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from failctl.console import lines, printable
from failctl.errors import BadInputError, EnvironmentProblemError, ExitStatus, FailctlError


class _Parser(argparse.ArgumentParser):
    """Bad arguments are one line on stderr and exit code 2, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        found = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if found:
            choices = re.findall(r"'([^']*)'|([\w-]+)", found.group(2))
            message += did_you_mean(found.group(1), [a or b for a, b in choices])
        unknown = re.match(r"unrecognized arguments: (--?[\w-]+)", message)
        if unknown:
            named = self._named_subcommand()
            parsers = [self, named] if named is not None else [self]
            flags = [flag for parser in parsers for action in parser._actions for flag in action.option_strings]
            message += did_you_mean(unknown.group(1), flags)
        self.exit(ExitStatus.BAD_INPUT, f"{self.prog}: {message} (see --help)\n")

    argv: Sequence[str] = ()

    def _named_subcommand(self) -> argparse.ArgumentParser | None:
        """The parser of the subcommand the command line names (its flags are the ones meant)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    if name in self.argv and isinstance(sub, argparse.ArgumentParser):
                        return sub
        return None


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("lambda-failures")
    except metadata.PackageNotFoundError:
        return "unknown"


def _parser() -> _Parser:
    parser = _Parser(prog="failctl", description=__doc__)
    parser.add_argument("--version", action="version", version=f"failctl {_version()}")
    parser.add_argument("--debug", action="store_true", help="on an error, print the full traceback too")
    commands = parser.add_subparsers(dest="command", required=True)

    preview = commands.add_parser("preview", help="run the program offline, as a fresh stack's preview sees it")
    preview.add_argument(
        "-s",
        "--stack",
        help="stack whose Pulumi.<stack>.yaml to use (default: the stack `pulumi stack select` chose, or PULUMI_STACK)",
    )
    preview.add_argument(
        "-C",
        "--cwd",
        type=Path,
        metavar="DIR",
        help="run as if in DIR: the program is the nearest folder at or above it with a Pulumi.yaml (default: .)",
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
    _gate_arguments(preview)

    audit_cmd = commands.add_parser(
        "audit", help="evaluate the policy pack over `pulumi stack export` output (FILE or - for stdin)"
    )
    audit_cmd.add_argument("export", help="stack export file, or - to read standard input")
    audit_cmd.add_argument("--json", action="store_true", help="print the verdict as JSON (same as --format json)")
    _format_argument(audit_cmd)
    _pack_arguments(audit_cmd, required=False, default=str(BUNDLED_PACK))
    _gate_arguments(audit_cmd)

    policies = commands.add_parser("policies", help="list the pack's policies: level, severity, description, link")
    policies.add_argument("--json", action="store_true", help="print them as JSON")
    policies.add_argument(
        "--markdown", action="store_true", help="print the rules document (docs/policies.md is this output)"
    )
    policies.add_argument(
        "--format", choices=("text", "json", "markdown"), default=None, help="text (default), json or markdown"
    )
    _pack_arguments(policies, required=False, default=str(BUNDLED_PACK))
    _rules_url_argument(policies)

    query = commands.add_parser("query", help="run a named query (or --sql) locally or in Athena")
    query.add_argument("name", nargs="?", help="named query: " + ", ".join(_query_names()))
    query.add_argument("--sql", help="your own Athena SQL instead of a named query")
    query.add_argument(
        "--timeout",
        type=_bounded_int(1, 86_400),
        default=120,
        metavar="SECONDS",
        help="a local query running longer is stopped (1..86400, default 120)",
    )
    query.add_argument(
        "--memory-limit",
        type=_bounded_int(64, 1_048_576),
        metavar="MB",
        help="memory a local query may use, in MB (default: half of this machine's memory)",
    )
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
    replay.add_argument(
        "--rate", type=_replay_rate, metavar="N", help="start at most N records per second (0.01..10000)"
    )
    replay.add_argument(
        "--stop-wait",
        type=_bounded_int(0, 600),
        default=30,
        metavar="SECONDS",
        help="on SIGINT/SIGTERM, how long invokes already sent may take to answer before they are "
        "reported uncertain (0..600, default 30)",
    )
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
        "--keep",
        metavar="DIR",
        type=Path,
        help="leave the demo's archive in DIR (new or empty), laid out like the bucket",
    )
    demo.add_argument("--append", action="store_true", help="with --keep: add to the archive already in DIR")
    return parser


# The pack `audit` and `policies` run by default: the copy an installed failctl carries
# (pyproject.toml maps policy/ to failctl.bundled_pack), else, in a checkout or an editable
# install, the repository's policy/ itself.
_INSTALLED_PACK = Path(__file__).resolve().parent / "bundled_pack"
BUNDLED_PACK = _INSTALLED_PACK if _INSTALLED_PACK.is_dir() else Path(__file__).resolve().parents[1] / "policy"


def _gate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="POLICY[,POLICY]",
        help="run only these policies (the others are disabled)",
    )
    parser.add_argument(
        "--skip-check", action="append", default=[], metavar="POLICY[,POLICY]", help="do not run these policies"
    )
    parser.add_argument(
        "--soft-fail", action="store_true", help="report violations but exit 0 (exit 1 only for failed work)"
    )
    parser.add_argument("-o", "--output-file", type=Path, metavar="FILE", help="write the report to FILE, not stdout")
    _rules_url_argument(parser)


def _rules_url_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rules-url",
        type=_web_address,
        default=None,
        metavar="URL",
        help="where the rules document (failctl policies --markdown) is published: each rule's link (SARIF helpUri)",
    )


def _web_address(text: str) -> str:
    from urllib.parse import urlparse

    parsed = urlparse(text)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) address")
    return text


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


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
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


def _replay_rate(text: str) -> float:
    """Bounded both ways: a rate near zero is a wait longer than any run (or than time.sleep takes)."""
    value = _positive_float(text)
    if not 0.01 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not within 0.01..10000 records per second")
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


def _judge(args: argparse.Namespace) -> Any:
    """A function that judges resources, with the pack started and its config read now, before
    any program runs: nothing the program does (rewriting the pack config file or the pack's
    files) reaches the verdict. It returns the verdict and what its reports add to it."""
    from failctl.preview import gate

    pack = gate.load_pack(args.policy_pack)
    configured = gate.load_config(args.policy_pack_config, pack)
    config = gate.select_policies(configured, _names(args.check), _names(args.skip_check))

    def judge(resources: Any, program_dir: Path | None = None) -> Any:
        resources = list(resources)
        if not any(r.custom for r in resources):
            print("warning: the plan holds no cloud resources: the policies judged nothing", file=sys.stderr)
        for warning in gate.unmatched_exemptions(config, resources):
            print(f"warning: {printable(warning)}", file=sys.stderr)
        skipped = gate.skipped_by(configured, config)
        options = gate.ReportOptions(pack, config, skipped, soft_fail=args.soft_fail, rules_url=args.rules_url or "")
        return gate.evaluate(pack, resources, config, program_dir), options

    return judge


def _names(values: list[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _gate_exit(args: argparse.Namespace, verdict: Any) -> int:
    return ExitStatus.FAILED if verdict is not None and verdict.blocked and not args.soft_fail else ExitStatus.OK


def _print_verdict(verdict: Any, options: Any, output: str) -> bool:
    """SARIF or JUnit when asked for; False when the format is one this prints elsewhere."""
    from failctl.preview import report_formats

    if output == "sarif":
        print(report_formats.sarif(verdict, options))
    elif output == "junit":
        print(report_formats.junit(verdict, options))
    else:
        return False
    return True


def _preview(args: argparse.Namespace) -> int:
    from failctl.launcher import stop_on_sigterm
    from failctl.preview import gate, program_process, render, synth, workspace

    stop_on_sigterm()

    _check_output_file(args)
    output = _output_format(args)
    if output in ("sarif", "junit") and not args.policy_pack:
        raise BadInputError(f"--format {output} reports a verdict: add --policy-pack DIR")
    verdict_flags = {
        "--policy-pack-config": args.policy_pack_config,
        "--check": args.check,
        "--skip-check": args.skip_check,
        "--soft-fail": args.soft_fail,
        "--rules-url": args.rules_url,
    }
    given = [flag for flag, value in verdict_flags.items() if value]
    if given and not args.policy_pack:  # a gate that judges nothing would exit 0
        raise BadInputError(f"{', '.join(given)} shape the policy verdict: add --policy-pack DIR")
    try:
        selection = workspace.select(args.cwd, args.stack)
    except workspace.WorkspaceError as error:
        raise BadInputError(str(error)) from None
    try:
        judge = _judge(args) if args.policy_pack else None
        synthesis = program_process.synthesize(
            selection.stack,
            account_id=args.account or synth.caller_account(),
            region=args.region,
            secrets=dict(args.secret),
            stack_references=_stack_references(args.stack_reference),
            project_dir=selection.program_dir,
        )
        verdict, options = judge(synthesis.resources, selection.program_dir) if judge is not None else (None, None)
    except synth.AccountUnknownError as error:
        raise EnvironmentProblemError(str(error)) from None
    except (program_process.StackInputError, gate.GateInputError) as error:
        raise BadInputError(str(error)) from None
    except program_process.ProgramProcessError as error:  # the program failed: where, and what flag would help
        if args.debug and error.traceback_text:
            print(error.traceback_text, end="", file=sys.stderr)
        raise BadInputError(str(error)) from None
    for warning in synthesis.warnings:
        print(f"warning: {printable(warning)}", file=sys.stderr)
    with _output(args):
        if verdict is not None and _print_verdict(verdict, options, output):
            pass
        elif output == "json":
            document = render.synthesis_json(synthesis)
            if verdict is not None:
                document.update(verdict.as_json(options))
            print(json.dumps(document, indent=2))
        else:
            print(lines(render.tree_lines(synthesis)))
            if verdict is not None:
                print()
                print(lines(gate.report_lines(verdict, options)))
    return _gate_exit(args, verdict)


def _check_output_file(args: argparse.Namespace) -> None:
    """-o FILE that cannot be written is refused before the work, not after it."""
    target = getattr(args, "output_file", None)
    if target is None:
        return
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise BadInputError(f"-o {target}: is a folder; name a file")
    if not folder.is_dir():
        raise BadInputError(f"-o {target}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise BadInputError(f"-o {target}: not writable")


@contextlib.contextmanager
def _output(args: argparse.Namespace) -> Iterator[None]:
    """The report on stdout, or written whole to -o FILE (replaced only once complete)."""
    target = getattr(args, "output_file", None)
    if target is None:
        yield
        return
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield
    try:
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(buffer.getvalue())
        partial.replace(target)
    except OSError as error:
        raise BadInputError(f"cannot write {target}: {error.strerror or error}") from None


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
    from failctl.launcher import stop_on_sigterm
    from failctl.preview import audit, gate

    stop_on_sigterm()

    _check_output_file(args)
    try:
        text = audit.read_text(args.export)
        resources = audit.resources_from_export(text)
        verdict, options = _judge(args)(resources, _audited_program())
    except (audit.ExportError, gate.GateInputError) as error:
        raise BadInputError(str(error)) from None
    output = _output_format(args)
    with _output(args):
        if _print_verdict(verdict, options, output):
            pass
        elif output == "json":
            print(json.dumps(verdict.as_json(options), indent=2))
        else:
            print(lines(gate.report_lines(verdict, options)))
    return _gate_exit(args, verdict)


def _audited_program() -> Path | None:
    """The program an export's source positions are relative to: the one `failctl audit` runs in."""
    from failctl.preview import workspace

    try:
        return workspace.find_project_file(Path.cwd()).parent
    except workspace.WorkspaceError:
        return None


def _policies(args: argparse.Namespace) -> int:
    from failctl.preview import gate, rules_document

    try:
        pack = gate.load_pack(args.policy_pack)
    except gate.GateInputError as error:
        raise BadInputError(str(error)) from None
    output = args.format or ("markdown" if args.markdown else "json" if args.json else "text")
    if output == "markdown":
        print(rules_document.markdown(pack), end="")
    elif output == "json":
        print(json.dumps(rules_document.rows(pack, args.rules_url or ""), indent=2))
    else:
        print("\n".join(rules_document.table(pack, args.rules_url or "")))
    return ExitStatus.OK


def _query(args: argparse.Namespace) -> int:
    from failctl.archive import query_command

    names = _query_names()
    if args.name and args.name not in names:
        hint = did_you_mean(args.name, names) or f" ({', '.join(names)})"
        raise BadInputError(f"no named query {args.name!r}{hint}")
    return query_command.run(args)


def _replay(args: argparse.Namespace) -> int:
    from failctl.archive import replay_command

    return replay_command.run(args)


def _compact(args: argparse.Namespace) -> int:
    from failctl.archive import compact_command

    return compact_command.run(args)


def _demo(args: argparse.Namespace) -> int:
    from failctl.emulation import demo

    return demo.run(keep=args.keep, append=args.append)


COMMANDS = {
    "preview": _preview,
    "audit": _audit,
    "policies": _policies,
    "query": _query,
    "replay": _replay,
    "compact": _compact,
    "demo": _demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    parser.argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except FailctlError as error:
        return _fail(args, error, error.status)
    except KeyboardInterrupt:
        print(f"failctl {args.command}: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return ExitStatus.BROKEN_PIPE


def _fail(args: argparse.Namespace, error: Exception, code: int) -> int:
    if args.debug:
        traceback.print_exception(error)
    print(f"failctl {args.command}: {printable(_one_line(error))}", file=sys.stderr)
    return code


def _quiet_stdout() -> None:
    """The reader of our stdout left (`| head`): nothing more to say, and nothing at exit either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
