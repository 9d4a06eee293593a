"""Read `pulumi stack export` output into the resources the policy gate evaluates."""

from __future__ import annotations

import codecs
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pulumi.runtime.rpc import UNKNOWN, _special_secret_sig, _special_sig_key

from failctl.preview.synth import SourceLocation, SynthResource
from lambda_failures import json_depth
from lambda_failures.json_depth import MAX_DEPTH, depth_exceeds


class ExportError(Exception):
    """The input is not a stack export the audit can read."""


# Byte order marks an export may start with: Windows PowerShell 5.1 redirects
# (`pulumi stack export > stack.json`) write UTF-16 LE with a BOM, some editors a UTF-8 BOM.
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def read_text(path: str) -> str:
    """The export's text from a file, or from standard input for `-`: UTF-8, or UTF-8 or
    UTF-16 behind a byte order mark."""
    try:
        if path == "-":
            if sys.stdin is None or sys.stdin.closed:
                raise ExportError("standard input is closed: give the export's file, or pipe it in")
            stream = getattr(sys.stdin, "buffer", None)
            data = stream.read() if stream is not None else sys.stdin.read().encode("utf-8", "surrogatepass")
        else:
            data = Path(path).read_bytes()
    except OSError as error:
        raise ExportError(f"cannot read {path}: {error.strerror or error}") from None
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    if encoding == "utf-8" and b"\x00" in data[:4]:
        raise ExportError(f"{path} is not UTF-8 text (NUL bytes: UTF-16 without a byte order mark?)")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ExportError(f"{path} is not {encoding.upper().removesuffix('-SIG')} text (byte {error.start})") from None


def _not_json(constant: str) -> Any:
    raise ExportError(f"not JSON: {constant} is not a JSON value (a stack export never holds one)")


def _unsecret(value: Any) -> Any:
    """Encrypted secrets cannot be judged offline: they become unknowns, never crashes."""
    if isinstance(value, dict):
        if value.get(_special_sig_key) == _special_secret_sig:
            if "plaintext" in value:
                try:
                    return _unsecret(json_depth.loads(value["plaintext"]))
                except (TypeError, ValueError):  # not JSON text, or nested too deep (TooDeepError)
                    return UNKNOWN
            return UNKNOWN
        return {k: _unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsecret(v) for v in value]
    return value


def resources_from_export(text: str) -> list[SynthResource]:
    if depth_exceeds(text):  # before parsing: every later walk recurses once per level
        raise ExportError(f"nested deeper than {MAX_DEPTH} levels: not a stack export the audit can read")
    try:
        data = json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as error:
        raise ExportError(f"not JSON: {error.msg} at line {error.lineno}") from None
    deployment = data.get("deployment", data) if isinstance(data, dict) else None
    raw_resources = deployment.get("resources") if isinstance(deployment, dict) else None
    if not isinstance(raw_resources, list):
        raise ExportError("no deployment.resources list: is this `pulumi stack export` output?")
    resources = []
    for index, raw in enumerate(raw_resources):
        if not isinstance(raw, dict) or not isinstance(raw.get("urn"), str) or not isinstance(raw.get("type"), str):
            raise ExportError(f"deployment.resources[{index}] has no urn or type")
        type_ = raw["type"]
        if type_ == "pulumi:pulumi:Stack" or type_.startswith("pulumi:providers:"):
            continue
        inputs = raw.get("inputs") if isinstance(raw.get("inputs"), dict) else {}
        resources.append(
            SynthResource(
                urn=raw["urn"],
                type=type_,
                name=raw["urn"].rsplit("::", 1)[-1],
                parent=raw.get("parent"),
                custom=bool(raw.get("custom", True)),
                props=_unsecret(inputs),
                protect=bool(raw.get("protect", False)),
                dependencies=_dependencies(raw.get("propertyDependencies")),
                source=source_position(raw.get("sourcePosition")),
            )
        )
    return resources


def source_position(value: object) -> SourceLocation | None:
    """The engine's `project:///<path relative to the project>#<line>[,<column>]` (source_eval.go
    `parseSourcePosition`), kept relative: the gate resolves it against the program's folder."""
    if not isinstance(value, str) or not value.startswith("project:///"):
        return None
    path, _, fragment = value.removeprefix("project:///").partition("#")
    line = fragment.split(",", 1)[0]
    if not path or not line.isdigit() or int(line) < 1:
        return None
    return SourceLocation(Path(unquote(path)), int(line))


def _dependencies(value: Any) -> dict[str, list[str]]:
    """`propertyDependencies`: property name -> URNs; any other shape is read as none."""
    if not isinstance(value, dict):
        return {}
    return {k: [u for u in v if isinstance(u, str)] for k, v in value.items() if isinstance(v, list)}
