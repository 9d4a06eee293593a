"""How a policy of this pack is built and run: one factory, one guard.

Every policy is made by `policy()`, which wraps its check in `fail_closed` (a crash is a
violation, never a pass, and exemptions are applied in one place) and gives it the exemption
settings in its config schema, unless nothing may exempt it. The schema is complete when the
policy is made: nothing changes it afterwards.

Each exemptable policy declares the resource types it judges (`judges`, the same constant its
check filters on): an exemption, by tag or config, applies only to a resource of those types.
A tag naming a policy that never judges the resource would only add noise to the reports.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from . import exemptions

__all__ = ["crash_message", "fail_closed", "policy"]


# Policy name -> the resource types it judges (None: every type), as each policy() declared it.
JUDGED_TYPES: dict[str, frozenset[str] | None] = {}
# Policy name -> why nothing may exempt it, for each policy() declared so.
UNEXEMPTABLE_REASONS: dict[str, str] = {}


def policy(
    name: str,
    description: str,
    validate: Callable[[Any, Any], None],
    level: EnforcementLevel,
    severity: Severity,
    *,
    stack: bool = False,
    config: Mapping[str, Any] | None = None,
    remediate: Callable[[Any], Any] | None = None,
    judges: Iterable[str] | None = None,
    unexemptable: str = "",
) -> ResourceValidationPolicy | StackValidationPolicy:
    """A policy of the pack: `validate` run per resource, or once over the stack when `stack`;
    `config` the JSON schema of each setting it reads; `remediate` (per resource only) rewrites
    inputs; `judges` the resource types it judges (every type when None: only for a policy nothing
    may exempt, since an exemption applies only where the policy judges); `unexemptable` why
    nothing may exempt it, declared here so that the property goes wherever the name does."""
    if judges is None and not unexemptable:
        raise TypeError(f"{name}: an exemptable policy declares the resource types it judges")
    types = frozenset(judges) if judges is not None else None
    properties = dict(config or {})
    if not unexemptable:
        properties |= {"exemptions": exemptions.CONFIG_SCHEMA, exemptions.HORIZON_SETTING: exemptions.HORIZON_SCHEMA}
    common: dict[str, Any] = {
        "name": name,
        "description": description,
        "validate": fail_closed(validate, name, types),
        "enforcement_level": level,
        "severity": severity,
        "config_schema": PolicyConfigSchema(properties=properties) if properties else None,
    }
    if stack:
        if remediate is not None:
            raise TypeError(f"{name}: a stack policy cannot remediate a resource")
        made: ResourceValidationPolicy | StackValidationPolicy = StackValidationPolicy(**common)
    else:
        made = ResourceValidationPolicy(**common, remediate=remediate)
    JUDGED_TYPES[name] = types  # read by exemption-tags-valid
    if unexemptable:
        UNEXEMPTABLE_REASONS[name] = unexemptable  # read by exemptions.unexemptable
    return made


def fail_closed(
    validate: Callable[[Any, Any], None], policy: str, judges: frozenset[str] | None = None
) -> Callable[[Any, Any], None]:
    """Every policy runs through this guard.

    The policy always runs, exempt or not: a crash must never read as a pass (under the CLI or
    the offline gate), and no exemption lifts one; the crash becomes a violation of this policy,
    at its level, with the reason. Then exemptions (see exemptions.py): what an exemption in
    force would have reported is noted for the `exemptions-in-force` report instead; an
    exemption that is expired, malformed or not allowed (a tag on a mandatory policy) excuses
    nothing and the violation says why. The analyzer's own signals (an unknown value at
    preview, not applicable) pass through.

    A resource policy runs only on the types it judges: what it may report on is what an
    exemption from it may name, and its check need not test the type again."""

    @functools.wraps(validate)
    def guarded(args: Any, report_violation: Any) -> None:
        if judges is not None and not hasattr(args, "resources") and args.resource_type not in judges:
            return
        advisory = reports_advisory(report_violation)
        found: list[tuple[str, str | None]] = []
        reads = _record_reads(args)
        try:
            validate(args, lambda message, urn=None: found.append((message, urn)))
        except Exception as error:
            if type(error).__module__.split(".")[0] != "pulumi_policy":
                report_violation(crash_message(error, reads[-1] if reads else None), None)
                return
            _settle(args, policy, judges, advisory, found, report_violation)  # what it found before the unknown
            raise
        _settle(args, policy, judges, advisory, found, report_violation)

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


class _RecordingProps(Mapping[str, Any]):
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


def _exemption(
    policy: str, judges: frozenset[str] | None, resource: Any, config: Any, advisory: bool
) -> exemptions.Exemption | None:
    """The resource's exemption from this policy; none where the policy does not judge its type."""
    return exemptions.find(policy, resource.urn, resource.props, config, advisory, judges)


def _settle(
    args: Any,
    policy: str,
    judges: frozenset[str] | None,
    advisory: bool,
    found: list[tuple[str, Any]],
    report_violation: Any,
) -> None:
    """The policy's reports, less those on resources exempted from it (the others explained),
    each exemption in force noted with what it hides (nothing: the resource complies). A
    resource policy's reports are on its one resource; a stack policy's on the resource each
    names (none: reported as it is)."""
    stack = hasattr(args, "resources")
    resources = {r.urn: r for r in args.resources} if stack else {args.urn: args}
    config = args.get_config()
    looked_up: dict[str, exemptions.Exemption | None] = {}

    def exemption_of(urn: Any) -> exemptions.Exemption | None:
        if urn not in resources:
            return None
        if urn not in looked_up:
            looked_up[urn] = _exemption(policy, judges, resources[urn], config, advisory)
        return looked_up[urn]

    hidden: dict[str, list[str]] = {}
    for message, urn in found:
        owner = urn if stack else args.urn
        exemption = exemption_of(owner)
        if exemption is not None and exemption.in_force:
            hidden.setdefault(owner, []).append(message)
            exemptions.note(exemption, hidden[owner])
        else:
            report_violation(f"{message} ({exemption.why_not()})" if exemption is not None else message, urn)
    for owner in resources:  # exemptions in force on resources that comply: noted too
        exemption = exemption_of(owner) if owner not in hidden else None
        if exemption is not None and exemption.in_force:
            exemptions.note(exemption, ())
