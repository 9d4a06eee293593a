"""physical-names-unique: two resources of one type never take one name."""

from __future__ import annotations

from pulumi_policy import PolicyProviderResource
from support.policy_harness import UNKNOWN, stack_resource, stack_violations

FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def test_two_functions_with_one_name_are_refused_naming_both():
    found = stack_violations(
        "physical-names-unique",
        [
            stack_resource(FUNCTION, "a", {"name": "orders-processor"}),
            stack_resource(FUNCTION, "b", {"name": "orders-processor"}),
        ],
    )
    assert len(found) == 1
    assert "Function b takes the name 'orders-processor', already taken by urn:pulumi:t::p::" in found[0]


def test_alarms_that_would_overwrite_each_other_are_refused():
    resources = [stack_resource(ALARM, n, {"name": "orders-errors"}) for n in ("a", "b", "c")]
    assert len(stack_violations("physical-names-unique", resources)) == 2


def test_distinct_unknown_and_absent_names_pass_and_types_are_separate():
    resources = [
        stack_resource(FUNCTION, "a", {"name": "one"}),
        stack_resource(FUNCTION, "b", {"name": "two"}),
        stack_resource(FUNCTION, "c", {"name": UNKNOWN}),
        stack_resource(FUNCTION, "d", {"name": UNKNOWN}),
        stack_resource(FUNCTION, "e", {}),
        stack_resource(ALARM, "f", {"name": "one"}),
        # Scoped to their role: the same name on two roles is two policies.
        stack_resource(ROLE_POLICY, "g", {"name": "least-privilege", "role": "r1"}),
        stack_resource(ROLE_POLICY, "h", {"name": "least-privilege", "role": "r2"}),
    ]
    assert stack_violations("physical-names-unique", resources) == []


def test_the_stack_registers_every_name_once():
    from support.pulumi_harness import run_program

    from failctl.preview import gate

    verdict = gate.evaluate(
        gate.load_pack("policy"), run_program(successDestination="sqs", deadLetterQueue=True).resources
    )
    assert [v for v in verdict.violations if v.policy == "physical-names-unique"] == []


def _in_region(resource, region: str):
    resource.provider = PolicyProviderResource("pulumi:providers:aws", {"region": region}, f"urn:{region}", region)
    return resource


def test_one_name_in_two_regions_is_two_resources_but_not_for_roles():
    functions = [
        _in_region(stack_resource(FUNCTION, "us", {"name": "orders-processor"}), "us-east-1"),
        _in_region(stack_resource(FUNCTION, "eu", {"name": "orders-processor"}), "eu-west-1"),
    ]
    assert stack_violations("physical-names-unique", functions) == []
    roles = [
        _in_region(stack_resource("aws:iam/role:Role", "us", {"name": "Orders-Role"}), "us-east-1"),
        _in_region(stack_resource("aws:iam/role:Role", "eu", {"name": "orders-role"}), "eu-west-1"),
    ]
    assert len(stack_violations("physical-names-unique", roles)) == 1


def test_bucket_types_share_one_namespace():
    buckets = [
        stack_resource("aws:s3/bucket:Bucket", "a", {"bucket": "shared-name"}),
        stack_resource("aws:s3/bucketV2:BucketV2", "b", {"bucket": "shared-name"}),
    ]
    assert len(stack_violations("physical-names-unique", buckets)) == 1
