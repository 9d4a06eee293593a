"""Exemptions: a program's own tag lifts advisory verdicts only; the pack's owner lifts mandatory
ones in the pack config, within rules; every exemption in force is reported as an advisory note.

Each case runs twice: in this process, through pulumi_policy's own analyzer servicer (the code
the pack runs under the CLI, called without the transport), and through the offline gate,
which starts the pack as its own process and speaks the analyzer gRPC protocol.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from failctl import cli
from failctl.preview import gate
from failctl.preview.analyzer import PackServer
from failctl.preview.synth import SynthResource
from failure_guards import PACK_NAME, POLICIES, exemptions
from failure_guards.guard import fail_closed

PACK_DIR = Path(__file__).resolve().parents[2] / "policy"
SQS = "sqs-queues-encrypted-with-customer-kms-key"
SQS_TYPE = "aws:sqs/queue:Queue"
ADVISORY_POLICY = "s3-bucket-denies-insecure-transport"
TAG = exemptions.TAG_PREFIX


def day(offset: int) -> str:
    return (exemptions.today() + timedelta(days=offset)).isoformat()


def queue(name: str, tags: dict | None = None, parent_type: str = "") -> SynthResource:
    type_path = f"{parent_type}${SQS_TYPE}" if parent_type else SQS_TYPE
    props = {"name": name, **({"tags": tags} if tags else {})}
    return SynthResource(f"urn:pulumi:dev::shop::{type_path}::{name}", SQS_TYPE, name, None, True, props)


def role_writing_anywhere(tags: dict) -> SynthResource:
    """The issue's case: a role granting s3:PutObject on * without s3:ResourceAccount."""
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}
    props = {"name": "uploader", "inlinePolicies": [{"name": "w", "policy": json.dumps(document)}], "tags": tags}
    return SynthResource(
        "urn:pulumi:dev::shop::aws:iam/role:Role::uploader", "aws:iam/role:Role", "uploader", None, True, props
    )


class _InProcessStub:
    """The analyzer service called directly: pulumi_policy's servicer, no transport."""

    def __init__(self) -> None:
        self.servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", POLICIES, EnforcementLevel.ADVISORY)

    def __getattr__(self, method: str):
        return lambda request, timeout=None: getattr(self.servicer, method)(request, None)


def _in_process_pack() -> gate.Pack:
    server = object.__new__(PackServer)
    server._stub = _InProcessStub()
    name, policies = server.info()
    return gate.Pack(name, policies, server)


@pytest.fixture(params=["in-process", "gate"])
def pack(request) -> gate.Pack:
    return _in_process_pack() if request.param == "in-process" else gate.load_pack(PACK_DIR)


def evaluate(pack: gate.Pack, resources: list, config: dict | None = None, tmp_path: Path | None = None):
    settings = gate.load_config(None, pack)
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        settings = gate.load_config(path, pack)
    return gate.evaluate(pack, resources, settings)


def blocked_on(result, policy: str) -> dict[str, str]:
    return {v.urn.rsplit("::", 1)[-1]: v.message for v in result.violations if v.policy == policy}


def notes(result) -> dict[str, str]:
    return {
        v.urn.rsplit("::", 1)[-1]: v.message
        for v in result.violations
        if v.policy == "exemptions-in-force" and v.level == "advisory"
    }


# ---- A program's tag cannot lift a mandatory verdict ---------------------------------------------


def test_a_tag_does_not_lift_a_mandatory_policy(pack):
    result = evaluate(pack, [queue("legacy", {f"{TAG}{SQS}": f"until {day(30)}: migrating to the shared key"})])
    assert result.blocked
    assert "a tag cannot lift a mandatory policy" in blocked_on(result, SQS)["legacy"]
    (listed,) = [e for e in result.exemptions if e.policy == SQS]
    assert not listed.in_force and listed.state.startswith("REFUSED")
    assert notes(result) == {}


def test_a_tag_lifts_an_advisory_policy_and_the_note_says_what_it_hides(pack, tmp_path):
    result = evaluate(
        pack,
        [queue("legacy", {f"{TAG}{SQS}": f"until {day(30)}: migrating to the shared key"})],
        {SQS: "advisory"},
        tmp_path,
    )
    assert blocked_on(result, SQS) == {} and not result.blocked
    note = notes(result)["legacy"]
    assert f"exempt from {SQS} until {day(30)} by the resource's tag: migrating to the shared key" in note
    assert "it hides: " in note and "kmsMasterKeyId" in note


def test_the_owner_exempts_a_mandatory_policy_in_the_pack_config_and_it_is_printed(pack, tmp_path):
    pattern = f"urn:pulumi:*::shop::{SQS_TYPE}::legacy-*"
    config = {SQS: {"exemptions": [{"urn": pattern, "reason": "vendor queue until migration", "until": day(60)}]}}
    result = evaluate(pack, [queue("legacy-a", parent_type="shop:index:Orders"), queue("new-b")], config, tmp_path)
    assert set(blocked_on(result, SQS)) == {"new-b"}
    assert "by the pack config: vendor queue until migration" in notes(result)["legacy-a"]
    assert [(e.source, e.in_force) for e in result.exemptions] == [("config", True)]
    assert f"vendor queue until migration (until {day(60)}, by config)" in "\n".join(gate.report_lines(result))


def test_an_exemption_of_a_resource_that_complies_is_noted_as_removable(pack, tmp_path):
    compliant = queue("legacy-a")
    compliant.props["kmsMasterKeyId"] = "alias/orders"
    exact = compliant.urn
    config = {SQS: {"exemptions": [{"urn": exact, "reason": "vendor queue until migration", "until": day(5)}]}}
    result = evaluate(pack, [compliant], config, tmp_path)
    assert "the resource complies: the exemption can go" in notes(result)["legacy-a"]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"urn": "*"}, "is not a URN"),
        ({"urn": "urn:pulumi:*::*::*::*"}, "must write out the resource type"),
        ({"urn": f"urn:pulumi:*::*::{SQS_TYPE}::*"}, "must name the resource"),
        ({"urn": f"urn:pulumi:*::*::{SQS_TYPE}::?*"}, "only * is a wildcard"),
        ({"urn": f"urn:pulumi:*::*::{SQS_TYPE}::[lx]egacy-*"}, "only * is a wildcard"),
        ({"reason": "."}, "says nothing"),
        ({"reason": "TODO"}, "says nothing"),
        ({"reason": "   "}, "says nothing"),
        ({"until": "2126-01-01"}, "beyond the 90-day horizon"),
        ({"until": "9999-12-31"}, "beyond the 90-day horizon"),
        ({"until": day(91)}, "beyond the 90-day horizon"),
        ({"until": "2026-02-30"}, "malformed"),
    ],
)
def test_the_pack_config_refuses_exemptions_that_cannot_be_owned(capsys, tmp_path, entry, expected):
    good = {"urn": f"urn:pulumi:*::*::{SQS_TYPE}::legacy-*", "reason": "vendor queue until migration", "until": day(30)}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({SQS: {"exemptions": [good | entry]}}))
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"deployment": {"resources": []}}))
    code = cli.main(["audit", str(export), "--policy-pack", str(PACK_DIR), "--policy-pack-config", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1


def test_under_the_cli_a_broken_config_exemption_excuses_nothing_and_the_violation_says_why(pack):
    """The CLI checks the config against the schema only: the pack itself refuses the rest."""
    settings = gate.load_config(None, pack)
    level, config = settings[SQS]
    settings[SQS] = (level, config | {"exemptions": [{"urn": "*", "reason": "vendor queue", "until": day(30)}]})
    result = gate.evaluate(pack, [queue("legacy")], settings)
    assert "excuses nothing: '*' is not a URN" in blocked_on(result, SQS)["legacy"]
    settings[SQS] = (
        level,
        config | {"exemptions": [{"urn": queue("legacy").urn, "reason": "vendor", "until": day(9)}]},
    )
    assert "says nothing" in blocked_on(gate.evaluate(pack, [queue("legacy")], settings), SQS)["legacy"]
    far = [{"urn": queue("legacy").urn, "reason": "vendor queue", "until": "9999-12-31"}]
    settings[SQS] = (level, config | {"exemptions": far})
    assert "beyond the 90-day horizon" in blocked_on(gate.evaluate(pack, [queue("legacy")], settings), SQS)["legacy"]


def test_the_horizon_is_the_owners_setting(pack, tmp_path):
    entry = {"urn": queue("legacy").urn, "reason": "vendor queue until migration", "until": day(200)}
    result = evaluate(pack, [queue("legacy")], {SQS: {"exemptions": [entry], "exemptionHorizonDays": 365}}, tmp_path)
    assert blocked_on(result, SQS) == {}
    with pytest.raises(gate.GateInputError, match="beyond the 30-day horizon"):
        evaluate(pack, [queue("legacy")], {SQS: {"exemptions": [entry], "exemptionHorizonDays": 30}}, tmp_path)
    with pytest.raises(gate.GateInputError, match="greater than the maximum"):
        evaluate(pack, [], {SQS: {"exemptionHorizonDays": 4000}}, tmp_path)


def test_physical_names_unique_cannot_be_exempted(pack, tmp_path):
    twins = [queue("same"), queue("same-2")]
    twins[1].props["name"] = "same"
    for twin in twins:
        twin.props["kmsMasterKeyId"] = "alias/k"
        twin.props["tags"] = {f"{TAG}physical-names-unique": f"until {day(10)}: two stacks share the name"}
    result = evaluate(pack, twins, {"physical-names-unique": "advisory"}, tmp_path)
    assert "physical-names-unique cannot be exempted" in blocked_on(result, "physical-names-unique")["same-2"]
    with pytest.raises(gate.GateInputError, match="has no setting exemptions"):
        evaluate(pack, twins, {"physical-names-unique": {"exemptions": []}}, tmp_path)


def test_expired_and_unreadable_tags_excuse_nothing_and_say_which(pack, tmp_path):
    resources = [
        queue("old", {f"{TAG}{SQS}": "until 2020-01-01: was temporary for the migration"}),
        queue("vague", {f"{TAG}{SQS}": "one day"}),
        queue("typo", {f"{TAG}{SQS}": "until 2026-13-45: vendor queue until migration"}),
        queue("compact", {f"{TAG}{SQS}": f"until {day(5).replace('-', '')}: vendor queue until migration"}),
    ]
    result = evaluate(pack, resources, {SQS: "advisory"}, tmp_path)
    blocked = blocked_on(result, SQS)
    assert "expired on 2020-01-01" in blocked["old"]
    assert "malformed" in blocked["vague"] and "EXPIRED" not in blocked["vague"]
    assert "'2026-13-45' is malformed" in blocked["typo"] and "expired" not in blocked["typo"]
    assert "is malformed: write a date as YYYY-MM-DD" in blocked["compact"]
    states = {e.urn.rsplit("::", 1)[-1]: e.state for e in result.exemptions}
    assert states["old"] == "EXPIRED on 2020-01-01"
    assert states["typo"].startswith("REFUSED: its expiry '2026-13-45' is malformed")


def test_exemption_tags_are_checked_even_on_a_compliant_resource(pack):
    ok = queue("q", {f"{TAG}sqs-queue-encrypted-with-customer-kms-key": f"until {day(9)}: vendor queue"})
    bad_chars = queue("r", {f"{TAG}{SQS}": f"until {day(9)}: vendor's queue (legacy)"})
    no_words = queue("s", {f"{TAG}{SQS}": f"until {day(9)}: ."})
    for resource in (ok, bad_chars, no_words):
        resource.props["kmsMasterKeyId"] = "alias/k"
    reported = blocked_on(evaluate(pack, [ok, bad_chars, no_words]), "exemption-tags-valid")
    assert f"did you mean {TAG}{SQS}?" in reported["q"]
    assert "characters AWS tag values do not allow" in reported["r"] and "'()" in reported["r"]
    assert "says nothing" in reported["s"]


def test_an_exemption_applies_only_to_the_types_its_policy_judges(pack, tmp_path):
    """A transformation tagging every resource: the tag on a queue for a bucket policy excuses
    nothing, is not noted as in force, and exemption-tags-valid says the policy never judges it."""
    stray = queue("q", {f"{TAG}{ADVISORY_POLICY}": f"until {day(9)}: bucket rollout for the vendor"})
    stray.props["kmsMasterKeyId"] = "alias/k"
    pattern = f"urn:pulumi:*::shop::{SQS_TYPE}::*q"
    config = {
        "s3-buckets-encrypted-with-customer-kms-key": {
            "exemptions": [{"urn": pattern, "reason": "legacy queues until migration", "until": day(9)}]
        }
    }
    result = evaluate(pack, [stray], config, tmp_path)
    assert notes(result) == {} and result.exemptions == []
    (message,) = blocked_on(result, "exemption-tags-valid").values()
    assert f"{ADVISORY_POLICY} does not judge {SQS_TYPE} resources" in message and "remove the tag" in message


def test_a_crash_is_never_exempted():
    def crashes(args, report):
        raise ZeroDivisionError("division by zero")

    guarded = fail_closed(crashes, SQS)
    from support.policy_harness import resource_args

    entry = {"urn": f"urn:pulumi:t::p::{SQS_TYPE}::r", "reason": "vendor queue until migration", "until": day(9)}
    args = resource_args(SQS_TYPE, {"name": "r"}, {"exemptions": [entry]})
    found: list[str] = []
    guarded(args, lambda message, urn=None: found.append(message))
    assert len(found) == 1 and "could not check the resource (ZeroDivisionError" in found[0]
    assert "no exemption lifts this" in found[0]


# ---- Through failctl audit: the issue's own case -------------------------------------------------


def _export(tmp_path: Path, resource: SynthResource) -> Path:
    path = tmp_path / "export.json"
    raw = {"urn": resource.urn, "type": resource.type, "custom": True, "inputs": resource.props}
    path.write_text(json.dumps({"deployment": {"resources": [raw]}}))
    return path


def test_audit_a_self_exempted_s3_grant_is_blocked_and_an_owner_exemption_is_printed(capsys, tmp_path):
    policy = "s3-write-grants-require-resource-account"
    role = role_writing_anywhere({f"{TAG}{policy}": f"until {day(20)}: legacy uploader for the vendor"})
    export = _export(tmp_path, role)
    code = cli.main(["audit", str(export), "--policy-pack", str(PACK_DIR), "--json"])
    verdict = json.loads(capsys.readouterr().out)
    assert code == 1
    (violation,) = [v for v in verdict["violations"] if v["policy"] == policy]
    assert "a tag cannot lift a mandatory policy" in violation["message"]
    config = tmp_path / "config.json"
    entry = {"urn": role.urn, "reason": "legacy uploader for the vendor", "until": day(20)}
    config.write_text(json.dumps({policy: {"exemptions": [entry]}}))
    code = cli.main(["audit", str(export), "--policy-pack", str(PACK_DIR), "--policy-pack-config", str(config)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[exemptions-in-force, low] urn:pulumi:dev::shop::aws:iam/role:Role::uploader" in out
    assert f"exempt from {policy} until {day(20)} by the pack config: legacy uploader for the vendor" in out


# ---- The rules themselves ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "urn", "matches"),
    [
        (f"urn:pulumi:*::*::{SQS_TYPE}::legacy-*", f"urn:pulumi:dev::shop::{SQS_TYPE}::legacy-a", True),
        (f"urn:pulumi:*::*::{SQS_TYPE}::legacy-*", f"urn:pulumi:dev::shop::x:index:C${SQS_TYPE}::legacy-a", True),
        (f"urn:pulumi:*::*::x:index:C${SQS_TYPE}::legacy-*", f"urn:pulumi:dev::shop::{SQS_TYPE}::legacy-a", False),
        (f"urn:pulumi:*::*::{SQS_TYPE}::legacy-*", "urn:pulumi:dev::shop::aws:sns/topic:Topic::legacy-a", False),
        (f"urn:pulumi:prod::*::{SQS_TYPE}::legacy-*", f"urn:pulumi:dev::shop::{SQS_TYPE}::legacy-a", False),
        (f"urn:pulumi:dev*::*::{SQS_TYPE}::*-a", f"urn:pulumi:dev::shop::{SQS_TYPE}::legacy-a", True),
        (f"urn:pulumi:dev::shop::{SQS_TYPE}::q[0]", f"urn:pulumi:dev::shop::{SQS_TYPE}::q[0]", True),
        (f"urn:pulumi:dev::shop::{SQS_TYPE}::q[0]", f"urn:pulumi:dev::shop::{SQS_TYPE}::q0", False),
    ],
)
def test_urn_patterns(pattern, urn, matches):
    assert exemptions.pattern_problem(pattern) == ""
    assert exemptions.urn_matches(pattern, urn) is matches


def test_a_tag_given_to_a_whole_component_reaches_no_child(pack, tmp_path):
    """The project's components pass their `tags` to every resource inside them: an exemption
    tag found inside one was given to the whole component and exempts nothing there."""
    tag = {f"{TAG}{SQS}": f"until {day(9)}: vendor queue until migration"}
    inside = queue("dlq", tag, parent_type="lambda-failures:index:AsyncFunction")
    own = queue("orders", tag, parent_type="shop:index:Orders")
    result = evaluate(pack, [inside, own], {SQS: "advisory"}, tmp_path)
    assert "given to the whole AsyncFunction component" in blocked_on(result, SQS)["dlq"]
    assert set(notes(result)) == {"orders"}


def test_the_example_config_keeps_the_exemption_reports_advisory():
    """`all: mandatory` would make the notes block every exempted resource."""
    settings = gate.load_config(PACK_DIR / "policy-config.example.json", gate.load_pack(PACK_DIR))
    assert settings["exemptions-in-force"][0] == "advisory"
    assert settings["exemption-tags-valid"][0] == "advisory"
    assert settings[SQS][0] == "mandatory"
