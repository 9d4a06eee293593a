"""The botocore model walker behind tests/contracts/test_aws_models.py: what a table entry
names (a model member, a documented rule, a call, a prop never sent), how a member path resolves
to a botocore shape, the shape's modelled constraints, and the walk over a resource's props.

The table itself (which prop goes to which member) and the documented rules are the test's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key

from failctl.preview.synth import UNKNOWN

# ---------------------------------------------------------------------------------------
# Table targets
# ---------------------------------------------------------------------------------------

Problems = list[str]


@dataclass(frozen=True)
class Ctx:
    """What a rule may need besides the value: where the stack deploys, and the resource."""

    account: str
    region: str
    partition: str = "aws"
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Member:
    """An input member of a botocore operation, by path from the operation's input shape.

    Path syntax: `A.B` structure members, `A[]` a list's member, `A{key}`/`A{value}` a map's
    key/value, `A{Name}` the value under one fixed key of a map (the key is checked too).
    `stringify` sends a number as the decimal string the provider writes (SQS attributes).
    """

    service: str
    operation: str
    path: str
    stringify: bool = False

    def __str__(self) -> str:
        return f"{self.service}:{self.operation} {self.path}"


@dataclass(frozen=True)
class Call:
    """A boolean prop that decides whether the provider makes an operation call at all."""

    service: str
    operation: str

    def __str__(self) -> str:
        return f"{self.service}:{self.operation} (called when true)"


@dataclass(frozen=True)
class Rule:
    """A documented constraint the botocore model does not carry."""

    source: str  # where AWS documents it
    check: Callable[[Any, Ctx], Problems]

    def __str__(self) -> str:
        return f"rule ({self.source})"


@dataclass(frozen=True)
class NotSent:
    """A prop the provider keeps to itself (no API member), with the reason."""

    reason: str


@dataclass(frozen=True)
class Opaque:
    """A subtree sent as a blob the model does not constrain; not descended into."""

    reason: str


Target = Member | Call | Rule | NotSent | Opaque

# ---------------------------------------------------------------------------------------
# botocore models
# ---------------------------------------------------------------------------------------


_SEGMENT = re.compile(r"(?P<name>[A-Za-z0-9]+)(?P<suffix>\[\]|\{[A-Za-z0-9]+\})?")


@functools.cache
def service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def resolve(member: Member):
    """The botocore shape a Member path names; KeyError/ValueError when it names nothing."""
    shape = service_model(member.service).operation_model(member.operation).input_shape
    for segment in member.path.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None or shape.type_name != "structure":
            raise ValueError(f"{member}: cannot step into {segment!r} of {shape.name}")
        shape = shape.members[match["name"]]
        suffix = match["suffix"]
        if suffix == "[]":
            shape = shape.member
        elif suffix == "{key}":
            shape = shape.key
        elif suffix == "{value}":
            shape = shape.value
        elif suffix:
            key = suffix[1:-1]
            problems = check_shape(shape.key, key, f"{member} key")
            if problems:
                raise ValueError("; ".join(problems))
            shape = shape.value
    return shape


@functools.cache
def python_pattern(java: str) -> re.Pattern[str]:
    """A botocore (Java) pattern as a Python regex; see the module docstring."""

    def astral(match: re.Match[str]) -> str:
        high, low = int(match[1], 16), int(match[2], 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"

    text = re.sub(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", astral, java, flags=re.IGNORECASE)
    text = text.replace(r"\p{L}", r"\w").replace(r"\p{N}", r"\w").replace(r"\p{Z}", r"\s")
    if r"\p{" in text:
        raise NotImplementedError(f"no translation for a Unicode class in {java!r}")
    return re.compile(text)


def check_shape(shape, value: Any, where: str) -> Problems:
    """The modelled constraints of one shape on one value: type, enum, length, range, pattern."""
    meta, kind = shape.metadata, shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {value!r}"]
        problems = []
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{where}: {value!r} is shorter than {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where}: {len(value)} characters, over {meta['max']}")
        if shape.enum and value not in shape.enum:
            problems.append(f"{where}: {value!r} is not one of {shape.enum}")
        if "pattern" in meta and not python_pattern(meta["pattern"]).fullmatch(value):
            problems.append(f"{where}: {value!r} does not match {meta['pattern']!r}")
        return problems
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
            return [f"{where}: expected a whole number, got {value!r}"]
        if "min" in meta and value < meta["min"]:
            return [f"{where}: {value} is below the minimum {meta['min']}"]
        if "max" in meta and value > meta["max"]:
            return [f"{where}: {value} is above the maximum {meta['max']}"]
        return []
    if kind in ("double", "float"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a number, got {value!r}"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected true/false, got {value!r}"]
    if kind in ("list", "map"):
        if not isinstance(value, (list, dict)):
            return [f"{where}: expected a {kind}, got {value!r}"]
        if "min" in meta and len(value) < meta["min"]:
            return [f"{where}: {len(value)} items, fewer than {meta['min']}"]
        if "max" in meta and len(value) > meta["max"]:
            return [f"{where}: {len(value)} items, more than {meta['max']}"]
        return []
    return []  # blob, timestamp, structure: nothing modelled to check here


# ---------------------------------------------------------------------------------------
# Walking the props
# ---------------------------------------------------------------------------------------


def leaves(props: dict[str, Any], table: dict[str, tuple[Target, ...]]) -> Iterator[tuple[str, Any]]:
    """(path, value) for every leaf, list and map the engine would send.

    Maps (paths with a `{key}` entry in the table) yield themselves, then each key and
    value; lists yield themselves, then their members as `path[]`; opaque subtrees and
    unknown values yield themselves only.
    """

    def walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
        if isinstance(value, dict) and value.get(_special_sig_key) == _special_secret_sig:
            value = value.get("value", UNKNOWN)  # a secret is still sent, and still checked
        targets = table.get(path, ())
        if value == UNKNOWN or any(isinstance(t, Opaque) for t in targets):
            yield path, value
        elif f"{path}{{key}}" in table and isinstance(value, dict):
            yield path, value
            for key, item in value.items():
                yield f"{path}{{key}}", key
                yield from walk(item, f"{path}{{value}}")
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from walk(item, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            yield path, value
            for item in value:
                yield from walk(item, f"{path}[]")
        else:
            yield path, value

    yield from walk(props, "")


@dataclass
class Report:
    problems: Problems = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    skipped_unknown: list[str] = field(default_factory=list)
    checked: int = 0


def check_resource(
    type_: str,
    props: dict[str, Any],
    ctx: Ctx,
    name: str,
    prop_targets: dict[str, dict[str, tuple[Target, ...]]],
    uncovered_types: dict[str, str],
) -> Report:
    """Every prop of one resource against the table (`PROP_TARGETS`, and `UNCOVERED_TYPES` for the
    types it leaves out on purpose)."""
    report = Report()
    table = prop_targets.get(type_)
    if table is None:
        if type_ not in uncovered_types:
            report.unmapped.append(f"{type_} (type not in PROP_TARGETS nor UNCOVERED_TYPES)")
        return report
    ctx = Ctx(ctx.account, ctx.region, ctx.partition, props)
    for path, value in leaves(props, table):
        where = f"{type_} {name} {path}"
        targets = table.get(path)
        if targets is None:
            prefix_of_mapped = value == UNKNOWN and any(k.startswith((f"{path}.", f"{path}[")) for k in table)
            if not prefix_of_mapped:
                report.unmapped.append(where)
            continue
        if value == UNKNOWN:
            report.skipped_unknown.append(where)
            continue
        for target in targets:
            if isinstance(target, Member):
                sent = str(int(value)) if target.stringify and isinstance(value, float) else value
                report.problems += check_shape(resolve(target), sent, f"{where} -> {target}")
                report.checked += 1
            elif isinstance(target, Call):
                if not isinstance(value, bool):
                    report.problems.append(f"{where} -> {target}: expected true/false, got {value!r}")
                report.checked += 1
            elif isinstance(target, Rule):
                report.problems += [f"{where} -> {target}: {p}" for p in target.check(value, ctx)]
                report.checked += 1
    return report
