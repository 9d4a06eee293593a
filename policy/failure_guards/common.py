"""Helpers every policy shares: safe reads of engine props and IAM document parsing.

Props arrive wrapped by the analyzer's unknown-checking proxy: reading an unknown raises
UnknownValueError, which the engine reports as "can't run policy during preview". These
helpers let that propagate (so an unknown never passes silently) but never raise on odd
shapes: a string where a list is expected, a float, None, malformed JSON.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource
from pulumi_policy.proxy import UnknownValueError

from . import exemptions

__all__ = [
    "UnknownValueError",
    "as_list",
    "attached_to",
    "configured",
    "dig",
    "fail_closed",
    "is_true",
    "known_or_sources",
    "number",
    "parse_document",
    "prop",
    "statements",
]


def fail_closed(validate: Callable[[Any, Any], None], policy: str) -> Callable[[Any, Any], None]:
    """Every policy runs through this guard.

    The policy always runs, exempt or not: a crash must never read as a pass (under the CLI or
    the offline gate), and no exemption lifts one; the crash becomes a violation of this policy,
    at its level, with the reason. Then exemptions (see exemptions.py): what an exemption in
    force would have reported is noted for the `exemptions-in-force` report instead; an
    exemption that is expired, malformed or not allowed (a tag on a mandatory policy) excuses
    nothing and the violation says why. The analyzer's own signals (an unknown value at
    preview, not applicable) pass through."""

    @functools.wraps(validate)
    def guarded(args: Any, report_violation: Any) -> None:
        advisory = reports_advisory(report_violation)
        found: list[tuple[str, str | None]] = []
        settle = _report_stack if hasattr(args, "resources") else _report_resource
        reads = _record_reads(args)
        try:
            validate(args, lambda message, urn=None: found.append((message, urn)))
        except Exception as error:
            if type(error).__module__.split(".")[0] != "pulumi_policy":
                report_violation(crash_message(error, reads[-1] if reads else None), None)
                return
            settle(args, policy, advisory, found, report_violation)  # what it found before the unknown
            raise
        settle(args, policy, advisory, found, report_violation)

    return guarded


def reports_advisory(report_violation: Any) -> bool:
    """Whether this policy's violations go out at the advisory level, the only one a program's
    own tag may lift. pulumi_policy creates the reporting function per policy and call, bound
    to the level the pack config set (remediate is reported as mandatory); it offers no other
    way to read it. A level that cannot be read is treated as mandatory: a tag then lifts nothing."""
    try:
        level = inspect.getclosurevars(report_violation).nonlocals.get("enforcement_level")
    except TypeError:
        return False
    return level is EnforcementLevel.ADVISORY


def crash_message(error: BaseException, reading: tuple[str, str] | None = None) -> str:
    where = ""
    if reading is not None:
        name, prop = reading
        where = f" while reading {prop}" + (f" of {name}" if name else "")
    return (
        f"this policy could not check the resource{where} ({type(error).__name__}: {str(error)[:200]}), so it "
        "is treated as a violation (fail closed); no exemption lifts this. Simplify the resource's value or "
        "report the policy bug."
    )


class _RecordingProps(Mapping):
    """A resource's props that note each top-level property a policy reads, so a crash can name
    the last one. Reads pass through unchanged (an unknown still raises as before)."""

    def __init__(self, props: Any, name: str, reads: list[tuple[str, str]]) -> None:
        self._props, self._name, self._reads = props, name, reads

    def __getitem__(self, key: str) -> Any:
        value = self._props[key]
        self._reads.append((self._name, key))
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._props)

    def __len__(self) -> int:
        return len(self._props)


def _record_reads(args: Any) -> list[tuple[str, str]]:
    """Wrap the props this policy will read (a resource's, or every resource's of the stack)."""
    reads: list[tuple[str, str]] = []

    def recording(props: Any, name: str) -> Any:
        if isinstance(props, _RecordingProps):  # wrapped for another policy: record for this one
            props = props._props
        return _RecordingProps(props, name, reads) if isinstance(props, Mapping) else props

    if hasattr(args, "resources"):
        for resource in args.resources:
            resource.props = recording(resource.props, resource.name)
    else:
        args.props = recording(args.props, "")
    return reads


def _exemption(policy: str, urn: str, props: Any, config: Any, advisory: bool) -> exemptions.Exemption | None:
    return exemptions.find(policy, urn, props, config, advisory)


def _report_resource(args: Any, policy: str, advisory: bool, found: list, report_violation: Any) -> None:
    exemption = _exemption(policy, args.urn, args.props, args.get_config(), advisory)
    if exemption is not None and exemption.in_force:
        exemptions.note(exemption, [message for message, _ in found])
        return
    for message, urn in found:
        report_violation(f"{message} ({exemption.why_not()})" if exemption is not None else message, urn)


def _report_stack(args: Any, policy: str, advisory: bool, found: list, report_violation: Any) -> None:
    """A stack policy's reports, less those on exempted resources (the others explained)."""
    by_urn = {r.urn: r for r in args.resources}
    config = args.get_config()
    hidden: dict[str, list[str]] = {}
    for message, urn in found:
        resource = by_urn.get(urn) if urn else None
        exemption = _exemption(policy, urn, resource.props, config, advisory) if resource is not None else None
        if exemption is not None and exemption.in_force:
            hidden.setdefault(urn, []).append(message)
            exemptions.note(exemption, hidden[urn])
        elif exemption is not None:
            report_violation(f"{message} ({exemption.why_not()})", urn)
        else:
            report_violation(message, urn)
    for resource in args.resources:  # exemptions in force on resources that comply: noted too
        if resource.urn in hidden:
            continue
        exemption = _exemption(policy, resource.urn, resource.props, config, advisory)
        if exemption is not None and exemption.in_force:
            exemptions.note(exemption, ())


def dig(value: Any, *path: str) -> Any:
    """Follow keys through nested mappings; None when a step is missing or not a mapping."""
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def as_list(value: Any) -> list[Any]:
    """IAM and engine values are often 'one or many': a lone value becomes a list of one."""
    if value is None:
        return []
    if isinstance(value, str | bytes) or isinstance(value, Mapping):
        return [value]
    if isinstance(value, Sequence):
        return [value[i] for i in range(len(value))]
    return [value]


def number(value: Any) -> float | None:
    """Engine numbers are floats; strings of digits are tolerated, anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def configured(props: Any, *path: str) -> bool:
    """A non-empty value at `path`, or one unknown at preview: the engine will set it (to an
    ARN the provider computes), so the property is configured either way."""
    try:
        value = dig(props, *path)
    except UnknownValueError:
        return True
    return isinstance(value, str) and bool(value)


def known_or_sources(
    resource: PolicyResource, *path: str, stack: Sequence[PolicyResource] = ()
) -> tuple[Any, list[PolicyResource]]:
    """The value at `path`, or, when it is unknown at preview, the resources the engine says it
    is computed from (property dependencies of its top-level property), with everything beneath
    them in `stack`: a value taken from a component's output depends on the component, and
    what it is made of is inside. With no such resources the unknown propagates: the policy
    cannot decide."""
    try:
        return dig(resource.props, *path), []
    except UnknownValueError:
        sources = list((resource.property_dependencies or {}).get(path[0]) or [])
        if not sources:
            raise
        return None, sources + beneath(sources, stack)


def beneath(roots: Sequence[PolicyResource], stack: Sequence[PolicyResource]) -> list[PolicyResource]:
    """The resources of `stack` whose parent chain passes through one of `roots`."""
    urns = {root.urn for root in roots}
    found = []
    for candidate in stack:
        parent = candidate.parent
        while parent is not None:
            if parent.urn in urns:
                found.append(candidate)
                break
            parent = parent.parent
    return found


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


class MalformedDocumentError(ValueError):
    """The policy document is not a JSON object with statements."""


def parse_document(raw: Any) -> Mapping[str, Any]:
    """A policy document from a JSON string or an already-parsed mapping."""
    if isinstance(raw, Mapping):
        return raw
    if not isinstance(raw, str):
        raise MalformedDocumentError(f"expected a JSON string, got {type(raw).__name__}")
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        raise MalformedDocumentError(f"not valid JSON ({error.msg})") from None
    if not isinstance(parsed, Mapping):
        raise MalformedDocumentError(f"expected a JSON object, got {type(parsed).__name__}")
    return parsed


def statements(document: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, statement) for each statement that is an object; `Statement` may be one or a list."""
    for index, statement in enumerate(as_list(document.get("Statement"))):
        if isinstance(statement, Mapping):
            yield index, statement


def statement_label(index: int, statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement #{index}"


def prop(resource: Any, key: str) -> Any:
    """A stack resource's prop, or None when absent or unknown (for matching, not judging)."""
    try:
        return resource.props[key] if key in resource.props else None
    except UnknownValueError:
        return None


def attached_to(
    bucket: PolicyResource, resources: list[PolicyResource], types: tuple[str, ...]
) -> list[PolicyResource]:
    """Bucket sub-resources (encryption, public access block, policy) that target this bucket:
    by the engine's property dependency on `bucket`, else by the bucket's name."""
    name = prop(bucket, "bucket")
    found = []
    for resource in resources:
        if resource.resource_type not in types:
            continue
        deps = (resource.property_dependencies or {}).get("bucket") or []
        if any(dep.urn == bucket.urn for dep in deps):
            found.append(resource)
        elif not deps and name is not None and prop(resource, "bucket") == name:
            found.append(resource)
    return found
