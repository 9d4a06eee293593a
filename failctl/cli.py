"""`failctl`: command-line entry point for operators."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from components.settings import ConfigError
from failctl import render
from failctl.synth import StackConfigError, synthesize

EXIT_OK, EXIT_VIOLATIONS, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="failctl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    preview = commands.add_parser("preview", help="run the program offline, as a fresh stack's preview sees it")
    preview.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to use")
    preview.add_argument("--json", action="store_true", help="print the plan as JSON")
    return parser


def _preview(args: argparse.Namespace) -> int:
    try:
        synthesis = synthesize(args.stack)
    except (ConfigError, StackConfigError) as error:
        print(f"failctl preview: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(render.synthesis_json(synthesis), indent=2))
    else:
        print("\n".join(render.tree_lines(synthesis)))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "preview":
        return _preview(args)
    raise AssertionError(f"unhandled command {args.command}")
