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
_MAX_NODES, _MAX_DEPTH = 100_000, 100


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
        text = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8")
        document = next(iter(yaml.load_all(text, Loader=_GoYamlLoader)), None)  # a SafeLoader subclass
    except FileNotFoundError:
        if required:
            raise ProjectFileError([f"{source}: no such file in {path.parent}"]) from None
        return None
    except OSError as error:
        raise ProjectFileError([f"{source}: could not read it ({error.strerror})"]) from None
    except UnicodeDecodeError:
        raise ProjectFileError([f"{source}: invalid YAML file: not UTF-8"]) from None
    except yaml.MarkedYAMLError as error:
        # Only the position and the parser's reason: the file's text (ciphertext included) stays out.
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ProjectFileError([f"{source}: invalid YAML file{where}: {error.problem or error.context}"]) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as error:
        raise ProjectFileError([f"{source}: invalid YAML file ({type(error).__name__})"]) from None
    if (problem := _plain_data_problem(document, set(), [0], 0)) is not None:
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
    bad_keys = [key for key in value if not isinstance(key, str)] if isinstance(value, dict) else []
    if bad_keys:
        return f"expected only string keys, got {kind(bad_keys[0])} [project.go SimplifyMarshalledValue]"
    path.add(id(value))
    for item in value.values() if isinstance(value, dict) else value:
        if (problem := _plain_data_problem(item, path, count, depth + 1)) is not None:
            return problem
    path.discard(id(value))
    return None


def kind(value: Any) -> str:
    """A value's kind as a message names it."""
    names = {type(None): "null", bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    return {**names, list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def is_go_int(value: Any) -> bool:
    """A Go `int` as yaml.v3 decodes it (larger integers become uint64, which the engine treats apart)."""
    return isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX


# strconv's base 0 (0b, 0o, 0x prefixes, a leading 0 for octal, else decimal) and base 10, each with a sign.
_BASE0 = re.compile(r"([-+]?)(0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_BASE10 = re.compile(r"([-+]?)([0-9]+)")


def go_parse_int(text: str, base0: bool = False) -> int | None:
    """strconv.Atoi; with `base0`, yaml.v3's strconv.ParseInt(text, 0, 64) then ParseUint (unsigned text only)."""
    match = (_BASE0 if base0 else _BASE10).fullmatch(text)
    if match is None:
        return None
    sign, digits = match.groups()
    octal = base0 and digits[:1] == "0" and digits[1:2].isdigit()
    number = int(digits, 8 if octal else 0 if base0 else 10) * (-1 if sign == "-" else 1)
    return number if INT64_MIN <= number <= (UINT64_MAX if base0 and not sign else INT64_MAX) else None


# yaml.v3's `resolve` for untagged plain scalars: its table, then ints (underscores dropped), then floats.
_PLAIN_TAG = "tag:lambda-failures,2024:plain"
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
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

    def construct_plain(self, node: yaml.ScalarNode) -> Any:
        """yaml.v3 `resolve` for an untagged plain scalar: null, bool, int, float or the text itself.

        A float out of range stays text: to yaml.v3, strconv.ParseFloat's range error is no number.
        """
        text = self.construct_scalar(node)
        if text in _RESOLVED or text[0] not in ".+-0123456789":
            return _RESOLVED.get(text, text)
        plain = text if text[0] == "." else text.replace("_", "")  # '.' text goes to ParseFloat as it is
        number: float | None = go_parse_int(plain, base0=True)
        if number is None and _YAML_FLOAT.fullmatch(plain):
            number = float(plain)
        return text if number is None or math.isinf(number) else number


_GoYamlLoader.yaml_implicit_resolvers = {}
_GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
_GoYamlLoader.add_implicit_resolver(_PLAIN_TAG, re.compile(r".*", re.DOTALL), None)
_GoYamlLoader.add_constructor(_PLAIN_TAG, _GoYamlLoader.construct_plain)
# yaml.v3 decodes a timestamp into an untyped value as its text, as it decodes a `!!str`.
_CONSTRUCTORS = _GoYamlLoader.yaml_constructors
_CONSTRUCTORS["tag:yaml.org,2002:timestamp"] = _CONSTRUCTORS["tag:yaml.org,2002:str"]
