"""The pack's policies are made one way: guard.policy, which guards every check and gives each
exemptable policy the exemption settings when it is made."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel, Severity, StackValidationPolicy
from support.policy_harness import resource_args

from failure_guards import POLICIES, exemptions
from failure_guards.guard import policy
from failure_guards.policies import JUDGES, NAMES, UNEXEMPTABLE

QUEUE = "aws:sqs/queue:Queue"
EXEMPTION_SETTINGS = {"exemptions", exemptions.HORIZON_SETTING}


def _validate(declared):
    """The check pulumi_policy runs (it keeps it private)."""
    return getattr(declared, "_StackValidationPolicy__validate", None) or declared._ResourceValidationPolicy__validate


def test_every_policy_is_declared_once_and_its_check_is_guarded():
    assert len(NAMES) == len(POLICIES)
    for declared in POLICIES:
        assert hasattr(_validate(declared), "__wrapped__"), declared.name  # fail_closed wraps it


@pytest.mark.parametrize("declared", POLICIES, ids=lambda p: p.name)
def test_exemption_settings_are_in_the_schema_from_the_start_unless_nothing_may_exempt(declared):
    properties = set(declared.config_schema.properties) if declared.config_schema else set()
    if declared.name in UNEXEMPTABLE:
        assert not properties & EXEMPTION_SETTINGS
    else:
        assert properties >= EXEMPTION_SETTINGS


def test_the_factory_makes_stack_policies_and_refuses_a_stack_remediation():
    made = policy("x", "y", lambda args, report: None, EnforcementLevel.ADVISORY, Severity.LOW, stack=True, judges=[])
    assert isinstance(made, StackValidationPolicy)
    with pytest.raises(TypeError, match="cannot remediate"):
        policy("x", "y", print, EnforcementLevel.ADVISORY, Severity.LOW, stack=True, remediate=print, judges=[])


def test_an_exemptable_policy_must_say_which_types_it_judges():
    with pytest.raises(TypeError, match="declares the resource types it judges"):
        policy("x", "y", print, EnforcementLevel.ADVISORY, Severity.LOW)
    for declared in POLICIES:
        assert (JUDGES[declared.name] is None) == (declared.name in UNEXEMPTABLE), declared.name


def test_what_nothing_may_exempt_is_a_policy_of_the_pack_and_refused_by_the_exemption_rules():
    """Declared with the policy: the names refused are the pack's own, and a policy made with
    the flag outside the pack (below) does not leak into them."""
    policy("not-in-the-pack", "y", print, EnforcementLevel.ADVISORY, Severity.LOW, unexemptable="a test")
    assert UNEXEMPTABLE and set(UNEXEMPTABLE) <= NAMES
    reason, until = "the database team migrates it", exemptions.today().isoformat()
    entry = {"urn": "urn:pulumi:dev::p::aws:sqs/queue:Queue::q", "reason": reason, "until": until}
    for name in sorted(NAMES | {"not-in-the-pack"}):
        refused = exemptions.tag_problem(name, f"until {until}: {reason}").startswith(f"{name} cannot be exempted")
        assert refused == (name in UNEXEMPTABLE), name
        assert exemptions.entry_problem(name, entry, 90).startswith(f"{name} cannot be exempted") == refused, name


def test_a_resource_policy_runs_only_on_the_types_it_judges():
    """`judges` is the one statement of a policy's types: a check that reports whatever it is
    given still reports only on them, which are the types an exemption from it may name."""
    made = policy(
        "x", "y", lambda args, report: report("seen", None), EnforcementLevel.ADVISORY, Severity.LOW, judges=[QUEUE]
    )
    seen = []
    for type_ in (QUEUE, "aws:sns/topic:Topic"):
        made.validate(resource_args(type_, {}), lambda message, urn=None, type_=type_: seen.append(type_))
    assert seen == [QUEUE]


def test_the_readme_policy_table_lists_the_pack_by_name_and_level():
    """The README's table is written by hand: a policy renamed, added or re-levelled in its
    declaration fails here until the table says so (docs/policies.md is generated instead)."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text[text.index("\n## Policy pack\n") :]
    section = section[: section.index("\n#", 3)]
    rows = dict(re.findall(r"^\| `([^`]+)` \| ([^|]+?) \|", section, re.MULTILINE))
    remediable = {p.name for p in POLICIES if getattr(p, "_ResourceValidationPolicy__remediate", None)}
    declared = {p.name: p.enforcement_level.value + (" (remediable)" * (p.name in remediable)) for p in POLICIES}
    assert rows == declared, "README.md's Policy pack table: one row per policy, `name` | level (as declared)"


# What else is written `like-this-name` in the prose: the named queries, the packages the
# README names, and example values (a date, regions, a misspelt region).
NOT_POLICIES = re.compile(
    r"\d{4}-\d{2}-\d{2}|[a-z]{2}-[a-z]+-\d|eu-wst-1|aws-lambda-powertools|aws-xray-sdk|"
    r"errors-by-action|errors-by-type|errors-in-range|failures-per-day"
)


def test_policy_names_in_the_prose_are_the_packs():
    """A policy renamed in its declaration leaves the old name in sentences no table test reads
    (the README's prose, the docs, docstrings): every `three-part-name` there is a policy of the
    pack, or one of the few other things written that way."""
    root = Path(__file__).resolve().parents[2]
    files = [root / "README.md", *root.joinpath("docs").glob("*.md")]
    files += [f for folder in ("policy", "failctl", "lambda_failures") for f in root.joinpath(folder).rglob("*.py")]
    stale = {
        f"{path.relative_to(root)}: {name}"
        for path in files
        for name in re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+){2,})`", path.read_text())
        if name not in NAMES and not NOT_POLICIES.fullmatch(name)
    }
    assert not stale, f"names that are not the pack's policies (renamed?): {sorted(stale)}"
