"""The two policies that report on exemptions, so the Pulumi CLI shows them too.

The analyzer protocol has one way to print something: a violation. `exemptions-in-force`
reports, at the advisory level, one note per resource listing every exemption that excused it
and what each one hides; `exemption-tags-valid` reports exemption tags that cannot work (a
misspelled policy name, a policy that never judges the resource's type, a value AWS refuses,
an unreadable date, a reason without words).
Kept advisory, they inform and block nothing; an owner who sets `exemptions-in-force` to
mandatory forbids exemptions altogether.
"""

from __future__ import annotations

import difflib

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from . import exemptions


def validate_in_force(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    present = {resource.urn for resource in args.resources}
    for urn, by_policy in sorted(exemptions.take_notes().items()):
        if urn not in present:  # noted in an earlier run of this process, for a resource gone since
            continue
        notes = [exemptions.note_message(policy, e, hidden) for policy, (e, hidden) in sorted(by_policy.items())]
        report_violation("; ".join(notes), urn)


def validate_tags(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    from .policies import JUDGES  # the names a tag may give; that list imports this module

    known_policies = frozenset(JUDGES)

    for policy, value in sorted(exemptions.tag_policies(args.props).items()):
        tag = f"{exemptions.TAG_PREFIX}{policy}"
        if policy not in known_policies:
            near = difflib.get_close_matches(policy, sorted(known_policies), n=1)
            hint = f"did you mean {exemptions.TAG_PREFIX}{near[0]}?" if near else "see `failctl policies`"
            report_violation(f"tag {tag} names no policy of this pack, so it excuses nothing; {hint}", None)
            continue
        if not isinstance(value, str):
            report_violation(f'tag {tag} must be text: "until YYYY-MM-DD: <reason>"', None)
            continue
        judged = JUDGES[policy]
        if judged is not None and args.resource_type not in judged:
            report_violation(
                f"tag {tag} excuses nothing: {policy} does not judge {args.resource_type} resources (it judges "
                f"{', '.join(sorted(judged))}); remove the tag from this resource.",
                None,
            )
            continue
        problem = exemptions.tag_problem(policy, value)
        if problem:
            report_violation(f"tag {tag} excuses nothing: {problem}.", None)
