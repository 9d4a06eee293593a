"""`Pulumi.yaml` and `Pulumi.<stack>.yaml` read as the engine reads them, and the error it gives.

The engine decodes YAML with gopkg.in/yaml.v3 (sdk/go/common/encoding/marshal.go). PyYAML's YAML 1.1
defaults would read `yes` as a boolean, `1:30` as a number and a date as a date, and would let a key
appear twice; yaml.v3 does none of these, so plain scalars here go through yaml.v3's `resolve`
function and a repeated key is refused. Only plain data comes out (SimplifyMarshalledValue).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ProjectFileError", "go_parse_int", "is_go_int", "kind", "read_yaml"]

INT64_MIN, INT64_MAX, UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1
# A guard for hostile files (alias bombs, runaway nesting); yaml.v3 has its own aliasing limit.
_MAX_NODES = 100_000
_MAX_DEPTH = 100


class ProjectFileError(Exception):
    """A rule the engine enforces on `Pulumi.yaml` or `Pulumi.<stack>.yaml` is broken.

    `problems` lists every broken rule found, one line each, naming the file and the key; the
    message is those lines joined. No message ever contains a config value.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("\n".join(self.problems))


def read_yaml(path: Path, source: str, required: bool) -> Any:
    """loaders.go `readFileStripUTF8BOM` and the YAML marshaler: the first document, plain data only."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ProjectFileError([f"{source}: no such file in {path.parent}"]) from None
        return None
    except OSError as error:
        raise ProjectFileError([f"{source}: could not read it ({error.strerror})"]) from None
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectFileError([f"{source}: invalid YAML file: not UTF-8"]) from None
    try:
        document = next(iter(yaml.load_all(text, Loader=_GoYamlLoader)), None)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        # Only the position and the parser's reason: the file's text (ciphertext included) stays out.
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ProjectFileError([f"{source}: invalid YAML file{where}: {error.problem or error.context}"]) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as error:
        raise ProjectFileError([f"{source}: invalid YAML file ({type(error).__name__})"]) from None
    problem = _plain_data_problem(document, set(), [0], 0)
    if problem is not None:
        raise ProjectFileError([f"{source}: {problem}"])
    return document


def _plain_data_problem(value: Any, path: set[int], count: list[int], depth: int) -> str | None:
    """project.go `SimplifyMarshalledValue`: string keys only; and nothing but plain data, finitely nested."""
    count[0] += 1
    if count[0] > _MAX_NODES:
        return "document contains excessive aliasing"
    if depth > _MAX_DEPTH:
        return "document is nested too deeply"
    if value is None or isinstance(value, (bool, int, float, str)):
        return None
    if not isinstance(value, (list, dict)):
        return f"unsupported YAML value of type {kind(value)}"
    if id(value) in path:
        return "document contains a recursive alias"
    path.add(id(value))
    for key in value if isinstance(value, dict) else ():
        if not isinstance(key, str):
            return f"expected only string keys, got {kind(key)} [project.go SimplifyMarshalledValue]"
    for item in value.values() if isinstance(value, dict) else value:
        problem = _plain_data_problem(item, path, count, depth + 1)
        if problem is not None:
            return problem
    path.discard(id(value))
    return None


def kind(value: Any) -> str:
    """A value's kind as a message names it."""
    names = {type(None): "null", bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    return {**names, list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------------------------
# yaml.v3's `resolve` for untagged plain scalars


_PLAIN_TAG = "tag:lambda-failures,2024:plain"
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
_RESOLVED: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}


class _GoYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with yaml.v3's scalar resolution and its refusal of a key defined twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, Any]] = set()
        for key_node, _ in node.value if isinstance(node, yaml.MappingNode) else ():
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            if (type(key).__name__, key) in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "mapping key already defined", key_node.start_mark
                )
            seen.add((type(key).__name__, key))
        return super().construct_mapping(node, deep=deep)


_GoYamlLoader.yaml_implicit_resolvers = {}
_GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
_GoYamlLoader.add_implicit_resolver(_PLAIN_TAG, re.compile(r".*", re.DOTALL), None)
def _plain(loader: _GoYamlLoader, node: yaml.ScalarNode) -> Any:
    return _go_resolve(loader.construct_scalar(node))


def _text(loader: _GoYamlLoader, node: yaml.ScalarNode) -> Any:
    return loader.construct_scalar(node)


_GoYamlLoader.add_constructor(_PLAIN_TAG, _plain)
# yaml.v3 decodes a timestamp into an untyped value as its text.
_GoYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _text)


def _go_resolve(text: str) -> Any:
    """yaml.v3 `resolve` for an untagged plain scalar: null, bool, int, float or the text itself."""
    if text in _RESOLVED:
        return _RESOLVED[text]
    if text[0] == ".":
        number = _finite_float(text) if _DOT_FLOAT.fullmatch(text) else None
        return text if number is None else number
    if text[0] not in "+-0123456789":
        return text
    plain = text.replace("_", "")
    number = go_parse_int(plain, base0=True)
    if number is None:
        number = go_parse_int(plain, base0=True, signed=False)
    if number is None and _YAML_FLOAT.fullmatch(plain):
        number = _finite_float(plain)
    return text if number is None else number


def _finite_float(text: str) -> float | None:
    """strconv.ParseFloat for decimal text: an overflow is an error, not infinity."""
    value = float(text)
    return None if math.isinf(value) else value


# strconv's base 0: 0b, 0o, 0x prefixes, a leading 0 for octal, else decimal.
_BASE0 = re.compile(r"0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def go_parse_int(text: str, base0: bool = False, signed: bool = True) -> int | None:
    """strconv.ParseInt(text, 10 or 0, 64), or ParseUint when not signed; with base 10 this is strconv.Atoi."""
    sign, digits = (text[0], text[1:]) if signed and text[:1] in ("+", "-") else ("", text)
    if base0 and _BASE0.fullmatch(digits):
        number = int(digits, 8) if digits[:1] == "0" and digits[1:2].isdigit() else int(digits, 0)
    elif not base0 and digits.isascii() and digits.isdigit():
        number = int(digits)
    else:
        return None
    number = -number if sign == "-" else number
    return number if (INT64_MIN <= number <= INT64_MAX if signed else number <= UINT64_MAX) else None


def is_go_int(value: Any) -> bool:
    """A Go `int` as yaml.v3 decodes it (larger integers become uint64, which the engine treats apart)."""
    return isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX
