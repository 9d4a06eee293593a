"""Helpers every policy shares: safe reads of engine props and IAM document parsing.

Props arrive wrapped by the analyzer's unknown-checking proxy: reading an unknown raises
UnknownValueError, which the engine reports as "can't run policy during preview". These
helpers let that propagate (so an unknown never passes silently) but never raise on odd
shapes: a string where a list is expected, a float, None, malformed JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

__all__ = [
    "BUCKET_TYPES",
    "UnknownValueError",
    "as_list",
    "attached_to",
    "configured",
    "dig",
    "is_true",
    "known_or_sources",
    "number",
    "parse_document",
    "prop",
    "statements",
]

# The S3 bucket resource types of pulumi-aws: Bucket, and BucketV2 that older programs still use.
BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")


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
