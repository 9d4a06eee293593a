"""Every IAM document the program writes: linted against AWS's IAM reference, and evaluated.

Lint: parliament (duo-labs) checks each document against its copy of AWS's Service
Authorization Reference: unknown actions and prefixes, condition keys that do not apply
to an action, resources whose ARN fits no resource type of the action, malformed
statements. Three findings are allowed, each for a stated reason (`ALLOWED_FINDINGS`);
anything else fails.

Evaluation: no maintained Python library evaluates requests against the conditions
these documents rely on. moto's `moto.iam.access_control.IAMPolicyStatement` knows only
`StringEquals` (no `ForAnyValue:`, no `Bool`) and returns an explicit DENY when an Allow
statement's condition does not hold, so one scoped KMS statement would veto another
that allows the call; iam-ape merges policies into effective permissions without a
request context; policyuniverse parses and expands but does not decide. (The maintained
full simulator is the Node package @cloud-copilot/iam-simulate, which this Python
project does not depend on.) So this module has its own small evaluator for exactly the
operators the program uses - `StringEquals`, `ForAnyValue:StringEquals`, `Bool` - and
raises on any other, so a new operator cannot be silently misjudged. Action matching
(wildcards, case, and existence of the action) and resource wildcard matching are
parliament's `expand_action` and `is_glob_match`.

Every name, ARN and alias comes from the synthesized stack (exports, resource props and
the dependencies the engine records), so the tests follow renames, the account-regional
`-an` bucket names and, in regions without that namespace, random bucket names.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import parliament
import pytest
from support.iam_evaluator import (
    Request,
    UnsupportedPolicyElementError,
    decide,
    role_may,
    role_may_use_key,
    service_may_use_key,
)
from support.pulumi_harness import run_program

from failctl.preview.synth import UNKNOWN, Synthesis, SynthResource, synthesize

OTHER_ACCOUNT = "999999999999"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"  # AWS assigns key ids; any will do
MAPPING_UUID = "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE"  # likewise the event source mapping's
RECORD = "2026/11/22/2026-11-22T10.15.00-6c0b1e0e-5d4a-4d43-9f0c-4a1b2c3d4e5f"

# ---------------------------------------------------------------------------------------
# The documents
# ---------------------------------------------------------------------------------------

DOCUMENT_PROPS = {
    "aws:iam/role:Role": ("assumeRolePolicy", "trust"),
    "aws:iam/rolePolicy:RolePolicy": ("policy", "identity"),
    "aws:kms/key:Key": ("policy", "key"),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy", "bucket"),
}


@dataclass(frozen=True)
class Document:
    kind: str  # trust | identity | key | bucket
    where: str
    text: str


def documents(synthesis: Synthesis) -> list[Document]:
    """Every IAM document known at preview (a bucket policy over a random name is not)."""
    found = []
    for resource in synthesis.resources:
        if resource.type in DOCUMENT_PROPS:
            prop, kind = DOCUMENT_PROPS[resource.type]
            text = resource.props.get(prop)
            if text is not None and text != UNKNOWN:
                found.append(Document(kind, f"{resource.type} {resource.name}.{prop}", text))
    return found


# ---------------------------------------------------------------------------------------
# Lint (parliament)
# ---------------------------------------------------------------------------------------


def _resource_type_condition(detail: str) -> bool:
    """Whether parliament's own IAM data lists the key for a resource type of the action.

    parliament looks for condition keys only on the action's row; the Service Authorization
    Reference also attaches keys to resource types (KMS's `key` carries kms:ResourceAliases),
    and AWS evaluates those for every action on that resource type.
    """
    match = re.fullmatch(r"Unknown condition (\S+) for action (\S+):(\S+)", detail)
    if match is None:
        return False
    key, prefix, action = match.groups()
    for service in parliament.iam_definition:
        if service["prefix"] != prefix:
            continue
        resources = {r["resource"]: r["condition_keys"] for r in service["resources"]}
        for privilege in service["privileges"]:
            if privilege["privilege"].lower() != action.lower():
                continue
            for resource_type in privilege["resource_types"]:
                if key in resources.get(resource_type["resource_type"].rstrip("*"), []):
                    return True
    return False


# (issue, document kinds it is allowed in, predicate on the detail, why)
ALLOWED_FINDINGS: list[tuple[str, set[str], Callable[[Any], bool], str]] = [
    (
        "RESOURCE_STAR",
        {"key"},
        lambda detail: True,
        'in a key policy, "Resource": "*" means the key the policy is attached to (KMS key policies)',
    ),
    (
        "MALFORMED",
        {"trust"},
        lambda detail: detail == "Statement contains neither Resource nor NotResource",
        "a role trust policy has no Resource element (IAM roles: trust policies)",
    ),
    (
        "UNKNOWN_CONDITION_FOR_ACTION",
        {"identity", "key", "bucket", "trust"},
        lambda detail: _resource_type_condition(str(detail)),
        "the key is a resource-type condition key of the action, which parliament does not look up",
    ),
]


def lint(kind: str, text: str) -> list[str]:
    """parliament's findings on one document, less the allowed ones, as readable strings."""
    policy = parliament.analyze_policy_string(text, include_community_auditors=False)
    problems = []
    for finding in policy.findings:
        allowed = any(
            finding.issue == issue and kind in kinds and predicate(finding.detail)
            for issue, kinds, predicate, _ in ALLOWED_FINDINGS
        )
        if not allowed:
            problems.append(f"{finding.issue}: {finding.detail}")
    return problems


# ---------------------------------------------------------------------------------------
# The stack's facts, found through the stack itself
# ---------------------------------------------------------------------------------------


class Facts:
    """Names, ARNs, aliases and documents of one synthesized stack, linked by dependencies."""

    def __init__(self, synthesis: Synthesis) -> None:
        self.s = synthesis
        self.by_urn = {r.urn: r for r in synthesis.resources}
        arn = synthesis.outputs["LambdaFunctionArn"].split(":")
        self.partition, self.region, self.account = arn[1], arn[3], arn[4]

    def _depends(self, resource: SynthResource, prop: str, type_: str) -> SynthResource:
        found = [self.by_urn[u] for u in resource.dependencies.get(prop, []) if self.by_urn[u].type == type_]
        assert len(found) == 1, f"{resource.urn}.{prop}: expected one {type_}, found {found}"
        return found[0]

    def _one(self, type_: str, **props: Any) -> SynthResource:
        found = [r for r in self.s.of_type(type_) if all(r.props.get(k) == v for k, v in props.items())]
        assert len(found) == 1, f"expected one {type_} with {props}, found {[r.urn for r in found]}"
        return found[0]

    def _users(self, type_: str, prop: str, resource: SynthResource) -> SynthResource:
        found = [r for r in self.s.of_type(type_) if resource.urn in r.dependencies.get(prop, [])]
        assert len(found) == 1, f"expected one {type_} whose {prop} is {resource.urn}, found {found}"
        return found[0]

    def kms_key_arn(self) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:key/{KEY_ID}"

    def via(self, service: str) -> str:
        return f"{service}.{self.region}.amazonaws.com"

    # Functions and their roles
    def role_policy(self, function_name: str) -> dict:
        function = self._one("aws:lambda/function:Function", name=function_name)
        role = self._depends(function, "role", "aws:iam/role:Role")
        return json.loads(self._one("aws:iam/rolePolicy:RolePolicy", role=role.props["name"]).props["policy"])

    def role_arn(self, function_name: str) -> str:
        function = self._one("aws:lambda/function:Function", name=function_name)
        role = self._depends(function, "role", "aws:iam/role:Role")
        return f"arn:{self.partition}:iam::{self.account}:role/{role.props['name']}"

    def marker_prefix(self, function_name: str) -> str:
        """Where the function keeps its claim markers: the archive format's, which it ships."""
        from lambda_failures.archive_format import MARKER_PREFIX

        self._one("aws:lambda/function:Function", name=function_name)
        return MARKER_PREFIX

    # Keys
    def key_alias(self, key: SynthResource) -> str:
        return self._users("aws:kms/alias:Alias", "targetKeyId", key).props["name"]

    @staticmethod
    def key_policy(key: SynthResource) -> dict:
        return json.loads(key.props["policy"])

    # The archive
    @functools.cached_property
    def archive(self) -> SynthResource:
        config = self._one(
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
            functionName=self.s.outputs["LambdaFunctionName"],
        )
        return self._depends(config, "destinationConfig", "aws:s3/bucket:Bucket")

    @functools.cached_property
    def archive_name(self) -> str:
        """The bucket's name; in the global namespace, its random prefix with 12 hex digits."""
        name = self.archive.props["bucket"]
        if name != UNKNOWN:
            return name
        suffix = self._depends(self.archive, "bucket", "random:index/randomId:RandomId")
        return suffix.props["prefix"] + "0123456789abcdef"[: 2 * int(suffix.props["byteLength"])]

    @property
    def archive_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.archive_name}"

    @functools.cached_property
    def archive_key(self) -> SynthResource:
        encryption = self._users(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "bucket",
            self.archive,
        )
        return self._depends(encryption, "rules", "aws:kms/key:Key")

    @property
    def archive_policy(self) -> dict | None:
        text = self._users("aws:s3/bucketPolicy:BucketPolicy", "bucket", self.archive).props["policy"]
        return None if text == UNKNOWN else json.loads(text)

    # The alerts topic
    @functools.cached_property
    def alerts_key(self) -> SynthResource:
        topic = self._one("aws:sns/topic:Topic", name=self.s.outputs["AlertTopicArn"].split(":")[-1])
        return self._depends(topic, "kmsMasterKeyId", "aws:kms/key:Key")

    # The stream table
    @functools.cached_property
    def table(self) -> SynthResource:
        return self._one("aws:dynamodb/table:Table", name=self.s.outputs["StreamTableName"])

    @property
    def table_key(self) -> SynthResource:
        return self._depends(self.table, "serverSideEncryption", "aws:kms/key:Key")

    @property
    def table_arn(self) -> str:
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account}:table/{self.table.props['name']}"

    # A queue named by an ARN, and its key
    def queue_key(self, queue_arn: str) -> SynthResource:
        queue = self._one("aws:sqs/queue:Queue", name=queue_arn.split(":")[-1])
        return self._depends(queue, "kmsMasterKeyId", "aws:kms/key:Key")

    def failure_processor_dlq(self) -> str:
        config = self._one(
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
            functionName=self.s.outputs["FailureProcessorFunctionName"],
        )
        return config.props["destinationConfig"]["onFailure"]["destination"]


@functools.cache
def facts(**config: Any) -> Facts:
    return Facts(run_program(**config))


def stack_facts(variant: tuple[tuple[str, Any], ...]) -> Facts:
    return facts(**dict(variant))


# ---------------------------------------------------------------------------------------
# Calls made on our behalf, with the answer AWS must give
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    label: str
    allowed: bool  # what AWS must answer
    decide: Callable[[], bool]


def failures(calls: list[Call]) -> list[str]:
    return [
        f"{c.label}: expected {'allowed' if c.allowed else 'denied'}, got the opposite"
        for c in calls
        if c.decide() is not c.allowed
    ]


def s3_context(account: str) -> dict[str, str | tuple[str, ...]]:
    return {"s3:ResourceAccount": account, "aws:SecureTransport": "true"}


def archive_write_calls(f: Facts, identity: dict, object_key: str, bucket_policy: dict | None) -> list[Call]:
    """Lambda delivering a failure record, and checking its access when the destination is set."""
    own, other = s3_context(f.account), s3_context(OTHER_ACCOUNT)
    obj = f"{f.archive_arn}/{object_key}"
    anywhere = f"{f.archive_arn}/destination-access-check"
    return [
        Call(f"PutObject {obj}", True, lambda: role_may(identity, Request("s3:PutObject", obj, own), bucket_policy)),
        Call(
            f"PutObject {obj} in account {OTHER_ACCOUNT}",
            False,
            lambda: role_may(identity, Request("s3:PutObject", obj, other)),
        ),
        # Lambda checks the role's access to the destination bucket, not to a key prefix.
        Call(f"PutObject {anywhere}", True, lambda: role_may(identity, Request("s3:PutObject", anywhere, own))),
        Call(
            f"ListBucket {f.archive_arn}",
            True,
            lambda: role_may(identity, Request("s3:ListBucket", f.archive_arn, own), bucket_policy),
        ),
        Call(
            f"ListBucket {f.archive_arn} in account {OTHER_ACCOUNT}",
            False,
            lambda: role_may(identity, Request("s3:ListBucket", f.archive_arn, other)),
        ),
    ]


def key_calls(
    f: Facts, identity: dict, key_policy: dict, alias: str, actions: list[str], service: str, who: str
) -> list[Call]:
    """Use of a key through `service` (its alias among the key's aliases), and nowhere else."""
    key = f.kms_key_arn()
    calls = []
    for action in actions:

        def ask(via: str | None, aliases: tuple[str, ...], action: str = action) -> bool:
            context: dict[str, str | tuple[str, ...]] = {"kms:ResourceAliases": aliases}
            if via is not None:
                context["kms:ViaService"] = f.via(via)
            return role_may_use_key(identity, key_policy, Request(action, key, context, ("AWS", who)))

        calls += [
            Call(f"{action} on {alias} via {service}", True, lambda ask=ask: ask(service, ("alias/unrelated", alias))),
            Call(f"{action} on {alias} via lambda", False, lambda ask=ask: ask("lambda", (alias,))),
            Call(f"{action} on {alias} called directly", False, lambda ask=ask: ask(None, (alias,))),
            Call(f"{action} on a key without {alias} via {service}", False, lambda ask=ask: ask(service, ("alias/x",))),
        ]
    return calls


def unscoped_key_calls(
    f: Facts, identity: dict, key_policy: dict, alias: str, actions: list[str], who: str
) -> list[Call]:
    """A key used by SQS/SNS on the role's behalf: granted by alias (no service named)."""
    key = f.kms_key_arn()
    return [
        Call(
            f"{action} on {alias}",
            True,
            lambda action=action: role_may_use_key(
                identity, key_policy, Request(action, key, {"kms:ResourceAliases": (alias,)}, ("AWS", who))
            ),
        )
        for action in actions
    ] + [
        Call(
            f"{actions[0]} on a key without {alias}",
            False,
            lambda: role_may_use_key(
                identity, key_policy, Request(actions[0], key, {"kms:ResourceAliases": ("alias/x",)}, ("AWS", who))
            ),
        )
    ]


def alerts_key_calls(f: Facts, key_policy: dict) -> list[Call]:
    """CloudWatch publishing an alarm to the encrypted alerts topic. The request carries the
    alarm's ARN as aws:SourceArn and its account as aws:SourceAccount (what CloudWatch sends to
    SNS, and SNS to KMS, for an alarm action)."""
    key = f.kms_key_arn()
    cloudwatch = "cloudwatch.amazonaws.com"

    def alarm(account: str, region: str = "", name: str = "orders-errors") -> str:
        return f"arn:{f.partition}:cloudwatch:{region or f.region}:{account}:alarm:{name}"

    def ask(action: str, service: str, account: str, source_arn: str | None) -> bool:
        context = {"aws:SourceAccount": account, **({"aws:SourceArn": source_arn} if source_arn else {})}
        return service_may_use_key(key_policy, Request(action, key, context, ("Service", service)))

    other_region = "us-east-1" if f.region != "us-east-1" else "eu-west-1"
    calls = []
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        calls += [
            Call(
                f"cloudwatch alarm {action} for {f.account}",
                True,
                lambda a=action: ask(a, cloudwatch, f.account, alarm(f.account)),
            ),
            Call(
                f"cloudwatch alarm {action} for {OTHER_ACCOUNT}",
                False,
                lambda a=action: ask(a, cloudwatch, OTHER_ACCOUNT, alarm(OTHER_ACCOUNT)),
            ),
            Call(
                f"cloudwatch alarm of {OTHER_ACCOUNT} {action} claiming {f.account}",
                False,
                lambda a=action: ask(a, cloudwatch, f.account, alarm(OTHER_ACCOUNT)),
            ),
            Call(
                f"cloudwatch {action} for {f.account}, not for an alarm",
                False,
                lambda a=action: ask(
                    a, cloudwatch, f.account, f"arn:{f.partition}:cloudwatch:{f.region}:{f.account}:dashboard/x"
                ),
            ),
            Call(
                f"cloudwatch {action} with no source ARN", False, lambda a=action: ask(a, cloudwatch, f.account, None)
            ),
            Call(
                f"cloudwatch alarm in {other_region} {action}",
                False,
                lambda a=action: ask(a, cloudwatch, f.account, alarm(f.account, other_region)),
            ),
            Call(
                f"events {action} for {f.account}",
                False,
                lambda a=action: ask(a, "events.amazonaws.com", f.account, alarm(f.account)),
            ),
        ]
    return calls


def tls_calls(bucket_arn: str, bucket_policy: dict) -> list[Call]:
    """The bucket policy denies every call over plain HTTP, and none over TLS."""
    obj = f"{bucket_arn}/aws/lambda/x"

    def denied(action: str, resource: str, secure: str) -> bool:
        request = Request(action, resource, {"aws:SecureTransport": secure}, ("AWS", "arn:aws:iam::123456789012:root"))
        return decide(bucket_policy, request, resource_policy=True) == "deny"

    return [
        Call(f"GetObject {obj} over HTTP is denied", True, lambda: denied("s3:GetObject", obj, "false")),
        Call(
            f"ListBucket {bucket_arn} over HTTP is denied", True, lambda: denied("s3:ListBucket", bucket_arn, "false")
        ),
        Call(f"PutObject {obj} over TLS is not denied", False, lambda: denied("s3:PutObject", obj, "true")),
    ]


# ---------------------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------------------

REGIONS = {
    "eu-west-1": (),
    "ap-southeast-2": (("aws:region", "ap-southeast-2"),),
    # No account-regional namespace: random bucket names, granted by prefix.
    "me-south-1": (("aws:region", "me-south-1"),),
}
LINT_VARIANTS = {
    **REGIONS,
    "success-sqs-dlq": (("successDestination", "sqs"), ("deadLetterQueue", True)),
    "success-sns": (("successDestination", "sns"),),
    "success-eventbridge": (("successDestination", "eventbridge"),),
    "success-lambda": (("successDestination", "lambda"),),
    "kinesis-source": (("streamSourceArn", "arn:aws:kinesis:eu-west-1:123456789012:stream/orders"),),
    "reserved-concurrency-0": (("reservedConcurrency", 0),),
    "auto-replay": (("autoReplay", True),),
    "prefix-40-chars": (("namePrefix", "p" * 40),),
}

# ---------------------------------------------------------------------------------------
# Lint tests
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", LINT_VARIANTS)
def test_every_document_passes_parliament(variant: str) -> None:
    docs = documents(stack_facts(LINT_VARIANTS[variant]).s)
    kinds = {d.kind for d in docs}
    assert {"trust", "identity", "key"} <= kinds, kinds
    problems = [f"{d.where}: {p}" for d in docs for p in lint(d.kind, d.text)]
    assert not problems, "\n".join(problems)


RETROFIT = Path(__file__).resolve().parents[1] / "fixtures" / "retrofit_program"


def test_every_retrofit_document_passes_parliament() -> None:
    """The grants FailureCapture puts on existing roles: delivery, and reads of every stream kind."""
    docs = documents(synthesize("dev", project_dir=RETROFIT, account_id="123456789012"))
    assert len(docs) == 5 and {d.kind for d in docs} == {"identity"}
    problems = [f"{d.where}: {p}" for d in docs for p in lint(d.kind, d.text)]
    assert not problems, "\n".join(problems)


def test_every_document_of_a_teams_own_functions_passes_parliament(tmp_path) -> None:
    """A team's functions through the public API (tests/components/test_function_spec.py): a
    Python function in a VPC with Powertools on arm64 and a Node.js consumer, each role with the
    component's grants and an extra statement of the team's."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from components.test_function_spec import write_program

    extra = [
        {
            "Sid": "ReadOrdersConfig",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": "arn:aws:ssm:eu-west-1:123456789012:parameter/orders/*",
        }
    ]
    folder = write_program(tmp_path, extra)
    docs = documents(synthesize("dev", project_dir=folder, account_id="123456789012", region="eu-west-1"))
    assert {"trust", "identity", "key"} <= {d.kind for d in docs}
    assert any("ReadOrdersConfig" in d.text for d in docs if d.kind == "identity")
    problems = [f"{d.where}: {p}" for d in docs for p in lint(d.kind, d.text)]
    assert not problems, "\n".join(problems)


def test_bucket_policies_are_linted_where_known() -> None:
    assert [d for d in documents(stack_facts(REGIONS["eu-west-1"]).s) if d.kind == "bucket"]


LINT_NEGATIVES = [
    ("identity", {"Effect": "Allow", "Action": "s3:PutObjects", "Resource": "arn:aws:s3:::b/*"}, "UNKNOWN_ACTION"),
    ("identity", {"Effect": "Allow", "Action": "s4:PutObject", "Resource": "*"}, "UNKNOWN_PREFIX"),
    (
        "identity",
        {
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:eu-west-1:123456789012:q",
            "Condition": {"StringEquals": {"s3:ResourceAccount": "123456789012"}},
        },
        "UNKNOWN_CONDITION_FOR_ACTION",
    ),
    (
        "identity",  # kms:ResourceAliases is a key's condition, not an S3 object's
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/a"}},
        },
        "UNKNOWN_CONDITION_FOR_ACTION",
    ),
    ("identity", {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3::b/*"}, "INVALID_ARN"),
    (
        "identity",
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "arn:aws:sqs:eu-west-1:123456789012:q"},
        "RESOURCE_MISMATCH",
    ),
    (
        "identity",  # SubscribeToShard acts on a stream consumer, not on the stream
        {
            "Effect": "Allow",
            "Action": "kinesis:SubscribeToShard",
            "Resource": "arn:aws:kinesis:eu-west-1:123456789012:stream/s",
        },
        "RESOURCE_MISMATCH",
    ),
    ("identity", {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}, "RESOURCE_STAR"),
    ("identity", {"Effect": "Allow", "Action": "s3:GetObject"}, "MALFORMED"),
]


@pytest.mark.parametrize(("kind", "statement", "issue"), LINT_NEGATIVES)
def test_lint_reports_a_broken_statement(kind: str, statement: dict, issue: str) -> None:
    problems = lint(kind, json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    assert any(p.startswith(issue) for p in problems), problems


def test_the_resource_type_allowance_needs_the_key_on_the_resource_type() -> None:
    assert _resource_type_condition("Unknown condition kms:ResourceAliases for action kms:Decrypt")
    assert not _resource_type_condition("Unknown condition kms:ResourceAliases for action s3:GetObject")
    assert not _resource_type_condition("Unknown condition kms:NoSuchKey for action kms:Decrypt")


# ---------------------------------------------------------------------------------------
# Evaluation tests
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_lambda_may_deliver_async_failures_to_the_archive_and_nowhere_else(region: str) -> None:
    f = stack_facts(REGIONS[region])
    function = f.s.outputs["LambdaFunctionName"]
    identity = f.role_policy(function)
    calls = archive_write_calls(f, identity, f"aws/lambda/async/{function}/{RECORD}", f.archive_policy)
    calls += key_calls(
        f,
        identity,
        f.key_policy(f.archive_key),
        f.key_alias(f.archive_key),
        ["kms:GenerateDataKey", "kms:Decrypt"],
        "s3",
        f.role_arn(function),
    )
    assert not failures(calls), "\n".join(failures(calls))


@pytest.mark.parametrize("region", REGIONS)
def test_the_stream_consumer_may_deliver_batches_read_its_stream_and_decrypt_it(region: str) -> None:
    f = stack_facts(REGIONS[region])
    function = f.s.outputs["StreamConsumerFunctionName"]
    identity, who = f.role_policy(function), f.role_arn(function)
    shard = "shardId-00000001700000000000-1a2b3c4d"
    calls = archive_write_calls(f, identity, f"aws/lambda/{MAPPING_UUID}/{shard}/{RECORD}", f.archive_policy)
    calls += key_calls(
        f, identity, f.key_policy(f.archive_key), f.key_alias(f.archive_key), ["kms:GenerateDataKey"], "s3", who
    )
    stream = f"{f.table_arn}/stream/2026-11-22T10:00:00.000"
    other_stream = stream.replace(f.table.props["name"], "someone-elses-table")
    for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"):
        calls += [
            Call(f"{action} {stream}", True, lambda a=action: role_may(identity, Request(a, stream))),
            Call(f"{action} {other_stream}", False, lambda a=action: role_may(identity, Request(a, other_stream))),
        ]
    calls.append(Call("dynamodb:ListStreams", True, lambda: role_may(identity, Request("dynamodb:ListStreams", "*"))))
    table_key = f.table_key
    calls += key_calls(f, identity, f.key_policy(table_key), f.key_alias(table_key), ["kms:Decrypt"], "dynamodb", who)
    assert not failures(calls), "\n".join(failures(calls))


@pytest.mark.parametrize("region", REGIONS)
def test_the_failure_processor_may_read_and_tag_records_alert_and_park_its_own_failures(region: str) -> None:
    f = stack_facts(REGIONS[region])
    function = f.s.outputs["FailureProcessorFunctionName"]
    identity, who = f.role_policy(function), f.role_arn(function)
    own, other = s3_context(f.account), s3_context(OTHER_ACCOUNT)
    record = f"{f.archive_arn}/aws/lambda/async/{f.s.outputs['LambdaFunctionName']}/{RECORD}"
    outside = f"{f.archive_arn}/elsewhere/x"
    calls = []
    for action in ("s3:GetObject", "s3:GetObjectTagging", "s3:PutObjectTagging"):
        calls += [
            Call(
                f"{action} {record}",
                True,
                lambda a=action: role_may(identity, Request(a, record, own), f.archive_policy),
            ),
            Call(
                f"{action} {record} in {OTHER_ACCOUNT}",
                False,
                lambda a=action: role_may(identity, Request(a, record, other)),
            ),
            Call(f"{action} {outside}", False, lambda a=action: role_may(identity, Request(a, outside, own))),
        ]
    calls += key_calls(f, identity, f.key_policy(f.archive_key), f.key_alias(f.archive_key), ["kms:Decrypt"], "s3", who)
    topic = f.s.outputs["AlertTopicArn"]
    calls.append(Call(f"sns:Publish {topic}", True, lambda: role_may(identity, Request("sns:Publish", topic))))
    calls += key_calls(
        f, identity, f.key_policy(f.alerts_key), f.key_alias(f.alerts_key), ["kms:GenerateDataKey"], "sns", who
    )
    dlq = f.failure_processor_dlq()
    dlq_key = f.queue_key(dlq)
    calls.append(Call(f"sqs:SendMessage {dlq}", True, lambda: role_may(identity, Request("sqs:SendMessage", dlq))))
    calls += unscoped_key_calls(
        f, identity, f.key_policy(dlq_key), f.key_alias(dlq_key), ["kms:GenerateDataKey", "kms:Decrypt"], who
    )
    # Alerts (and replays) are claimed once each with marker objects, created only if absent.
    calls += marker_calls(f, identity, f.marker_prefix(function))
    calls += key_calls(
        f, identity, f.key_policy(f.archive_key), f.key_alias(f.archive_key), ["kms:GenerateDataKey"], "s3", who
    )
    # Listing the archive (its keys and versions) turns a deleted record's 403 into 404 / a confirmed absence.
    for action in ("s3:ListBucket", "s3:ListBucketVersions"):
        calls += [
            Call(
                f"{action} {f.archive_arn}", True, lambda a=action: role_may(identity, Request(a, f.archive_arn, own))
            ),
            Call(
                f"{action} {f.archive_arn} in {OTHER_ACCOUNT}",
                False,
                lambda a=action: role_may(identity, Request(a, f.archive_arn, other)),
            ),
        ]
    # Automatic replay is off by default: nothing to invoke.
    processor = f.s.outputs["LambdaFunctionArn"]
    invoke = Request("lambda:InvokeFunction", processor)
    calls.append(Call("lambda:InvokeFunction (replay off)", False, lambda: role_may(identity, invoke)))
    assert not failures(calls), "\n".join(failures(calls))


def marker_calls(f: Facts, identity: dict, prefix: str) -> list[Call]:
    """Claiming a marker: a conditional PutObject, and reading it back, in our bucket only."""
    marker = f"{f.archive_arn}/{prefix}6c0b1e0e-5d4a-4d43-9f0c-4a1b2c3d4e5f"
    own, other = s3_context(f.account), s3_context(OTHER_ACCOUNT)
    calls = []
    for action in ("s3:PutObject", "s3:GetObject"):
        calls += [
            Call(
                f"{action} {marker}",
                True,
                lambda a=action: role_may(identity, Request(a, marker, own), f.archive_policy),
            ),
            Call(
                f"{action} {marker} in {OTHER_ACCOUNT}",
                False,
                lambda a=action: role_may(identity, Request(a, marker, other)),
            ),
        ]
    return calls


def test_auto_replay_may_invoke_the_processor_and_claim_markers_in_its_own_bucket_only() -> None:
    f = stack_facts((("autoReplay", True),))
    function = f.s.outputs["FailureProcessorFunctionName"]
    identity = f.role_policy(function)
    processor = f.s.outputs["LambdaFunctionArn"]
    invoke = Request("lambda:InvokeFunction", processor)
    other_function = Request("lambda:InvokeFunction", processor.replace("-processor", "-stream-consumer"))
    calls = [
        Call("lambda:InvokeFunction processor", True, lambda: role_may(identity, invoke)),
        Call("lambda:InvokeFunction another function", False, lambda: role_may(identity, other_function)),
    ]
    calls += marker_calls(f, identity, f.marker_prefix(function))
    assert not failures(calls), "\n".join(failures(calls))


SUCCESS = {
    "sqs": ("sqs:SendMessage", "sqs"),
    "sns": ("sns:Publish", "sns"),
    "eventbridge": ("events:PutEvents", None),
    "lambda": ("lambda:InvokeFunction", None),
}


@pytest.mark.parametrize("kind", SUCCESS)
def test_lambda_may_deliver_to_the_success_destination(kind: str) -> None:
    f = stack_facts((("successDestination", kind),))
    function = f.s.outputs["LambdaFunctionName"]
    identity, who = f.role_policy(function), f.role_arn(function)
    destination = f.s.outputs["SuccessDestinationArn"]
    action, encrypted_by = SUCCESS[kind]
    calls = [Call(f"{action} {destination}", True, lambda: role_may(identity, Request(action, destination)))]
    if encrypted_by is not None:
        resource_type = "aws:sqs/queue:Queue" if kind == "sqs" else "aws:sns/topic:Topic"
        holder = f._one(resource_type, name=destination.split(":")[-1])
        key = f._depends(holder, "kmsMasterKeyId", "aws:kms/key:Key")
        # Only through the queue or topic (kms:ViaService): the role cannot use the key itself.
        actions = ["kms:GenerateDataKey", "kms:Decrypt"]
        calls += key_calls(f, identity, f.key_policy(key), f.key_alias(key), actions, kind, who)
    assert not failures(calls), "\n".join(failures(calls))


def test_lambda_may_send_to_the_dead_letter_queue() -> None:
    f = stack_facts((("deadLetterQueue", True),))
    function = f.s.outputs["LambdaFunctionName"]
    identity, who = f.role_policy(function), f.role_arn(function)
    dlq = f.s.outputs["DeadLetterQueueArn"]
    key = f.queue_key(dlq)
    calls = [Call(f"sqs:SendMessage {dlq}", True, lambda: role_may(identity, Request("sqs:SendMessage", dlq)))]
    calls += key_calls(f, identity, f.key_policy(key), f.key_alias(key), ["kms:GenerateDataKey"], "sqs", who)
    assert not failures(calls), "\n".join(failures(calls))


@pytest.mark.parametrize("region", REGIONS)
def test_cloudwatch_may_use_the_alerts_key_for_this_account_only(region: str) -> None:
    f = stack_facts(REGIONS[region])
    calls = alerts_key_calls(f, f.key_policy(f.alerts_key))
    assert not failures(calls), "\n".join(failures(calls))


def test_every_bucket_policy_denies_plain_http() -> None:
    f = stack_facts(REGIONS["eu-west-1"])
    policies = f.s.of_type("aws:s3/bucketPolicy:BucketPolicy")
    assert len(policies) >= 2
    for policy in policies:
        bucket = f"arn:{f.partition}:s3:::{policy.props['bucket']}"
        calls = tls_calls(bucket, json.loads(policy.props["policy"]))
        assert not failures(calls), (policy.urn, failures(calls))


def test_roles_trust_only_lambda_or_the_compaction_schedule() -> None:
    f = stack_facts(REGIONS["eu-west-1"])
    roles = f.s.of_type("aws:iam/role:Role")
    assert len(roles) >= 3
    for role in roles:
        trust = json.loads(role.props["assumeRolePolicy"])
        assume = "sts:AssumeRole"
        lam = Request(assume, "*", principal=("Service", "lambda.amazonaws.com"))
        ec2 = Request(assume, "*", principal=("Service", "ec2.amazonaws.com"))
        account = Request(assume, "*", principal=("AWS", f"arn:aws:iam::{OTHER_ACCOUNT}:root"))
        scheduler = ("Service", "scheduler.amazonaws.com")
        ours = Request(assume, "*", {"aws:SourceAccount": f.account}, principal=scheduler)
        theirs = Request(assume, "*", {"aws:SourceAccount": OTHER_ACCOUNT}, principal=scheduler)
        schedule = role.props["name"].endswith("-compaction-schedule")
        assert decide(trust, lam, resource_policy=True) == ("none" if schedule else "allow"), role.urn
        assert decide(trust, ours, resource_policy=True) == ("allow" if schedule else "none"), role.urn
        assert decide(trust, theirs, resource_policy=True) == "none", role.urn
        assert decide(trust, ec2, resource_policy=True) == "none", role.urn
        assert decide(trust, account, resource_policy=True) == "none", role.urn


@pytest.mark.parametrize("expire", [False, True])
def test_the_compaction_function_reads_raw_days_writes_compacted_ones_and_its_claims_only(expire: bool) -> None:
    f = stack_facts((("compactionExpireRawAfterDays", 30),) if expire else REGIONS["eu-west-1"])
    function = "lambda-failures-test-compaction"
    identity, who = f.role_policy(function), f.role_arn(function)
    own, other = s3_context(f.account), s3_context(OTHER_ACCOUNT)
    raw = f"{f.archive_arn}/aws/lambda/async/{f.s.outputs['LambdaFunctionName']}/{RECORD}"
    compacted = f"{f.archive_arn}/compacted/athena/failed_events/function_name=x/day=y/part-0"
    claim = f"{f.archive_arn}/markers/athena-compactions/x/2026/11/22/claim"
    replay = f"{f.archive_arn}/markers/replays/aws/lambda/async/x"
    calls = []

    def may(action: str, resource: str, context: dict, expected: bool) -> None:
        calls.append(
            Call(f"{action} {resource}", expected, lambda: role_may(identity, Request(action, resource, context)))
        )

    may("s3:GetObject", raw, own, True)
    may("s3:PutObject", raw, own, False)  # raw records are never written
    may("s3:DeleteObject", raw, own, expire)  # deleted only with the expiry option
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        may(action, compacted, own, True)
        may(action, compacted, other, False)
    for action in ("s3:PutObject", "s3:GetObject"):
        may(action, claim, own, True)
        may(action, claim, other, False)
    may("s3:PutObject", replay, own, False)  # not replay's claims
    may("s3:PutObject", f"{f.archive_arn}/markers/athena-expirations/x/2026/11/22", own, expire)
    may("s3:ListBucket", f.archive_arn, own, True)
    may("s3:ListBucket", f.archive_arn, other, False)
    workgroup = f"arn:aws:athena:{f.region}:{f.account}:workgroup/lambda-failures-test-failures"
    may("athena:StartQueryExecution", workgroup, {}, True)
    may("athena:StartQueryExecution", workgroup.replace("-failures", "-other"), {}, False)
    table = f"arn:aws:glue:{f.region}:{f.account}:table/lambda_failures_test/failed_events_compacted"
    may("glue:BatchCreatePartition", table, {}, True)
    may("glue:DeleteTable", table, {}, False)
    results = f"arn:aws:s3:::{f.s.outputs['AthenaResultsBucketName']}/results/x.csv"
    may("s3:PutObject", results, own, True)
    may("s3:PutObject", results, other, False)
    calls += key_calls(
        f, identity, f.key_policy(f.archive_key), f.key_alias(f.archive_key), ["kms:GenerateDataKey"], "s3", who
    )
    assert not failures(calls), "\n".join(failures(calls))


# ---------------------------------------------------------------------------------------
# Negatives: broken documents through the same checks
# ---------------------------------------------------------------------------------------


def _processor(f: Facts) -> tuple[dict, str]:
    function = f.s.outputs["LambdaFunctionName"]
    return f.role_policy(function), f"aws/lambda/async/{function}/{RECORD}"


def _replace(doc: dict, sid: str, **changes: Any) -> dict:
    copy = json.loads(json.dumps(doc))
    for statement in copy["Statement"]:
        if statement.get("Sid") == sid:
            statement.update(changes)
            for key, value in changes.items():
                if value is None:
                    del statement[key]
    return copy


def test_a_prefix_scoped_put_grant_fails_the_destination_check() -> None:
    f = stack_facts(REGIONS["eu-west-1"])
    identity, key = _processor(f)
    broken = _replace(identity, "WriteFailureRecords", Resource=f"{f.archive_arn}/aws/lambda/*")
    assert any("destination-access-check" in x for x in failures(archive_write_calls(f, broken, key, None)))


def test_a_put_grant_without_resource_account_fails_the_other_account_check() -> None:
    f = stack_facts(REGIONS["eu-west-1"])
    identity, key = _processor(f)
    broken = _replace(identity, "WriteFailureRecords", Condition=None)
    assert any(OTHER_ACCOUNT in x for x in failures(archive_write_calls(f, broken, key, None)))


def test_a_listing_grant_on_objects_only_fails_the_listing_check() -> None:
    f = stack_facts(REGIONS["eu-west-1"])
    identity, key = _processor(f)
    broken = _replace(identity, "ListFailureArchive", Resource=f"{f.archive_arn}/*")
    assert any(x.startswith("ListBucket") for x in failures(archive_write_calls(f, broken, key, None)))


def test_string_equals_on_the_multivalued_alias_key_fails_the_key_check() -> None:
    f = stack_facts(REGIONS["eu-west-1"])
    identity, _ = _processor(f)
    alias = f.key_alias(f.archive_key)
    broken = _replace(
        identity,
        "EncryptFailureRecords",
        Condition={"StringEquals": {"kms:ResourceAliases": alias, "kms:ViaService": f.via("s3")}},
    )
    who = f.role_arn(f.s.outputs["LambdaFunctionName"])
    calls = key_calls(f, broken, f.key_policy(f.archive_key), alias, ["kms:GenerateDataKey"], "s3", who)
    assert any("via s3" in x for x in failures(calls)), failures(calls)


def test_a_key_grant_without_via_service_fails_the_other_service_check() -> None:
    f = stack_facts(REGIONS["eu-west-1"])
    identity, _ = _processor(f)
    alias = f.key_alias(f.archive_key)
    broken = _replace(
        identity, "EncryptFailureRecords", Condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}}
    )
    who = f.role_arn(f.s.outputs["LambdaFunctionName"])
    calls = key_calls(f, broken, f.key_policy(f.archive_key), alias, ["kms:Decrypt"], "s3", who)
    assert any("via lambda" in x for x in failures(calls)), failures(calls)


def test_a_key_policy_without_the_account_principal_denies_the_role() -> None:
    f = stack_facts(REGIONS["eu-west-1"])
    identity, _ = _processor(f)
    alias = f.key_alias(f.archive_key)
    key_policy = {"Version": "2012-10-17", "Statement": []}
    calls = key_calls(
        f, identity, key_policy, alias, ["kms:Decrypt"], "s3", f.role_arn(f.s.outputs["LambdaFunctionName"])
    )
    assert any("via s3" in x for x in failures(calls)), failures(calls)


def test_an_alerts_key_policy_without_source_account_fails() -> None:
    f = stack_facts(REGIONS["eu-west-1"])
    broken = _replace(f.key_policy(f.alerts_key), "ServicesUseKeyForThisAccount", Condition=None)
    assert any(OTHER_ACCOUNT in x for x in failures(alerts_key_calls(f, broken)))


def test_an_alerts_key_policy_without_source_arn_lets_any_cloudwatch_feature_in() -> None:
    f = stack_facts(REGIONS["eu-west-1"])
    statement = next(s for s in f.key_policy(f.alerts_key)["Statement"] if s["Sid"] == "ServicesUseKeyForThisAccount")
    account_only = {"StringEquals": statement["Condition"]["StringEquals"]}
    broken = _replace(f.key_policy(f.alerts_key), "ServicesUseKeyForThisAccount", Condition=account_only)
    failed = failures(alerts_key_calls(f, broken))
    assert any("not for an alarm" in x for x in failed) and any("no source ARN" in x for x in failed), failed


def test_destination_key_grants_name_sqs_and_sns_endpoints_of_the_stacks_region() -> None:
    f = stack_facts((("successDestination", "sqs"),))
    identity = f.role_policy(f.s.outputs["LambdaFunctionName"])
    (grant,) = [s for s in identity["Statement"] if s.get("Sid") == "EncryptDestinationMessages"]
    assert grant["Condition"]["StringEquals"]["kms:ViaService"] == [f.via("sqs"), f.via("sns")]


def test_a_bucket_policy_with_the_wrong_bool_fails_the_tls_check() -> None:
    f = stack_facts(REGIONS["eu-west-1"])
    broken = _replace(
        f.archive_policy or {}, "DenyInsecureTransport", Condition={"Bool": {"aws:SecureTransport": "true"}}
    )
    assert len(failures(tls_calls(f.archive_arn, broken))) == 3


def test_an_operator_the_evaluator_does_not_know_is_refused() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"StringLike": {"s3:prefix": "a*"}},
    }
    with pytest.raises(UnsupportedPolicyElementError):
        decide({"Statement": [statement]}, Request("s3:GetObject", "arn:aws:s3:::b/k", {"s3:prefix": "ab"}))


def test_a_request_for_an_action_aws_does_not_have_is_refused() -> None:
    with pytest.raises(parliament.UnknownActionException):
        decide({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}, Request("s3:PutObjects", "*"))


def test_the_evaluator_on_allow_deny_and_missing_keys() -> None:
    """Explicit deny wins; a missing key fails ForAnyValue; an unmet Allow is no veto."""
    allow_a = {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/a"}},
    }
    allow_b = {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/b"}},
    }
    deny = {
        "Effect": "Deny",
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    doc = {"Statement": [allow_a, allow_b, deny]}
    key = "arn:aws:kms:eu-west-1:123456789012:key/k"
    assert (
        decide(doc, Request("kms:Decrypt", key, {"kms:ResourceAliases": ("alias/b",), "aws:SecureTransport": "true"}))
        == "allow"
    )
    assert decide(doc, Request("kms:Decrypt", key, {"aws:SecureTransport": "true"})) == "none"
    assert (
        decide(doc, Request("kms:Decrypt", key, {"kms:ResourceAliases": ("alias/a",), "aws:SecureTransport": "false"}))
        == "deny"
    )
    assert (
        decide(doc, Request("kms:decrypt", key, {"kms:resourcealiases": ("alias/a",), "AWS:SecureTransport": "true"}))
        == "allow"
    )
