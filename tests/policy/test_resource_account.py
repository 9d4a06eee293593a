"""s3-write-grants-require-resource-account: one compliant fixture, then one test per broken property."""

import json

import pytest
from pulumi_policy.proxy import UnknownValueError
from support.policy_harness import UNKNOWN, document, violations

NAME = "s3-write-grants-require-resource-account"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET = "arn:aws:s3:::archive"
GUARDED = {"StringEquals": {"s3:ResourceAccount": "123456789012"}}


def put(action="s3:PutObject", condition=GUARDED, **extra):
    statement = {"Effect": "Allow", "Action": action, "Resource": f"{BUCKET}/*", **extra}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def check(*statements, type_=ROLE_POLICY, config=None):
    return violations(NAME, type_, {"policy": document(*statements)}, config)


def test_compliant_write_and_list_grants_pass():
    assert check(put(), put("s3:ListBucket")) == []


@pytest.mark.parametrize(
    "action",
    [
        "s3:PutObject",
        "s3:ListBucket",
        "s3:Put*",
        "s3:*",
        "*",
        "S3:PUTOBJECT",
        ["s3:GetObject", "s3:putobject"],
        "s3:P?tObject",
    ],
)
def test_every_spelling_of_a_write_or_list_grant_needs_the_condition(action):
    (message,) = check(put(action, condition=None))
    assert "without Condition StringEquals s3:ResourceAccount" in message
    assert "statement #0" in message and "s3:ResourceAccount" in message


def test_statement_as_a_single_object_is_checked():
    raw = json.dumps({"Version": "2012-10-17", "Statement": put(condition=None)})
    (message,) = violations(NAME, ROLE_POLICY, {"policy": raw})
    assert "without Condition" in message


def test_each_statement_is_judged_on_its_own():
    messages = check(put(Sid="Guarded"), put("s3:ListBucket", condition=None, Sid="Open"))
    assert len(messages) == 1 and "statement 'Open'" in messages[0]


def test_not_action_that_leaves_writes_allowed_needs_the_condition():
    (message,) = check({"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"})
    assert "s3:putobject" in message


def test_bucket_metadata_reads_and_deny_statements_are_not_judged():
    """Object reads are (archive data, see below); reading a bucket's own settings is not."""
    assert check(put("s3:GetBucketLocation", condition=None), put("s3:*", condition=None, Effect="Deny")) == []


def test_string_like_is_not_string_equals():
    (message,) = check(put(condition={"StringLike": {"s3:ResourceAccount": "123456789012"}}))
    assert "without Condition StringEquals s3:ResourceAccount" in message


def test_wildcard_account_fails():
    (message,) = check(put(condition={"StringEquals": {"s3:ResourceAccount": "*"}}))
    assert "'*' is a wildcard" in message


def test_malformed_account_fails():
    (message,) = check(put(condition={"StringEquals": {"s3:ResourceAccount": ["12345"]}}))
    assert "neither a 12-digit account id" in message


def test_principal_account_variable_is_accepted_without_config():
    assert check(put(condition={"StringEquals": {"s3:ResourceAccount": "${aws:PrincipalAccount}"}})) == []


def test_condition_key_matches_in_any_case():
    assert check(put(condition={"StringEquals": {"S3:resourceAccount": "123456789012"}})) == []


def test_configured_accounts_are_enforced():
    (message,) = check(put(), config={"allowedAccounts": ["210987654321"]})
    assert "not one of the allowed accounts ['210987654321']" in message
    assert check(put(), config={"allowedAccounts": ["123456789012"]}) == []


@pytest.mark.parametrize(
    "type_", ["aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy"]
)
def test_managed_user_and_group_policies_are_checked(type_):
    assert len(check(put(condition=None), type_=type_)) == 1


def test_role_inline_policies_are_checked():
    props = {
        "inlinePolicies": [
            {"name": "ok", "policy": document(put())},
            {"name": "bad", "policy": document(put(condition=None))},
        ]
    }
    (message,) = violations(NAME, "aws:iam/role:Role", props)
    assert message.startswith("inlinePolicies[1].policy")


def test_document_given_as_an_object_is_checked():
    (message,) = violations(NAME, ROLE_POLICY, {"policy": {"Statement": [put(condition=None)]}})
    assert "without Condition" in message


def test_malformed_json_is_reported_not_raised():
    (message,) = violations(NAME, ROLE_POLICY, {"policy": "{not json"})
    assert "not valid JSON" in message


def test_unknown_document_cannot_be_decided():
    with pytest.raises(UnknownValueError):
        violations(NAME, ROLE_POLICY, {"policy": UNKNOWN})


def test_other_resource_types_are_ignored():
    assert violations(NAME, "aws:s3/bucket:Bucket", {"policy": document(put(condition=None))}) == []


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"role": "r", "policyArn": "{arn}"}),
        ("aws:iam/userPolicyAttachment:UserPolicyAttachment", {"user": "u", "policyArn": "{arn}"}),
        ("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", {"group": "g", "policyArn": "{arn}"}),
        ("aws:iam/policyAttachment:PolicyAttachment", {"name": "a", "roles": ["r"], "policyArn": "{arn}"}),
        ("aws:iam/role:Role", {"assumeRolePolicy": "{}", "managedPolicyArns": ["{arn}"]}),
    ],
)
@pytest.mark.parametrize("managed", ["AmazonS3FullAccess", "PowerUserAccess", "AdministratorAccess"])
def test_s3_writing_aws_managed_policies_are_refused_wherever_attached(type_, props, managed):
    arn = f"arn:aws:iam::aws:policy/{managed}"
    filled = json.loads(json.dumps(props).replace("{arn}", arn))
    (message,) = violations(NAME, type_, filled)
    assert f"attaches the AWS managed policy {managed}" in message and "s3:ResourceAccount" in message


def test_aws_managed_policies_without_s3_pass_and_unknown_ones_fail_closed():
    attach = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    assert violations(NAME, attach, {"role": "r", "policyArn": basic}) == []
    assert violations(NAME, attach, {"role": "r", "policyArn": "arn:aws:iam::123456789012:policy/mine"}) == []
    unknown = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    (message,) = violations(NAME, attach, {"role": "r", "policyArn": unknown})
    assert "cannot see" in message and "allowedManagedPolicies" in message
    config = {"allowedManagedPolicies": ["AmazonSageMakerFullAccess"]}
    assert violations(NAME, attach, {"role": "r", "policyArn": unknown}, config) == []
    refused = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    assert violations(NAME, attach, {"role": "r", "policyArn": refused}, {"allowedManagedPolicies": []}) != []


def test_a_managed_policy_arn_unknown_at_preview_stays_undecided():
    with pytest.raises(UnknownValueError):
        violations(NAME, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"role": "r", "policyArn": UNKNOWN})


def test_a_document_too_deep_to_read_is_a_violation_not_a_pass():
    """A mandatory policy that crashes fails closed: the resource is blocked, with the reason."""
    deep = '{"Version": "2012-10-17", "Statement": [' + "[" * 50_000 + "]" * 50_000 + "]}"
    (message,) = violations(NAME, ROLE_POLICY, {"policy": deep})
    assert "could not check the resource" in message and "fail closed" in message


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:GetObjectVersion", "s3:Get*"])
def test_reads_of_archive_data_need_the_resource_account_too(action):
    (message,) = check(put(action, condition=None))
    assert "without Condition StringEquals s3:ResourceAccount" in message
    assert check(put(action)) == []


DATA = "data-grants-name-their-resources"


def data_check(*statements, type_=ROLE_POLICY):
    return violations(DATA, type_, {"policy": document(*statements)})


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("sqs:SendMessage", "*"),
        ("sqs:*", "*"),
        ("dynamodb:*", "*"),
        ("dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:*:table/orders"),
        ("sqs:SendMessage", "arn:aws:sqs:*:*:*"),
    ],
)
def test_queue_and_table_data_on_every_resource_is_refused(action, resource):
    (message,) = data_check({"Effect": "Allow", "Action": action, "Resource": resource})
    assert f"on {resource!r}" in message and "name the queue and table ARNs in Resource" in message


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:eu-west-1:123456789012:dlq"},
        {"Effect": "Allow", "Action": "dynamodb:ListStreams", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
    ],
)
def test_named_resources_and_non_data_actions_pass(statement):
    assert data_check(statement) == []


def test_not_resource_is_every_other_resource():
    statement = {"Effect": "Allow", "Action": "dynamodb:GetItem", "NotResource": "arn:aws:dynamodb:*:*:table/x"}
    (message,) = data_check(statement)
    assert "NotResource" in message


def test_a_roles_inline_policy_is_read_for_data_grants():
    inline = [{"name": "send", "policy": document({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"})}]
    (message,) = violations(DATA, "aws:iam/role:Role", {"inlinePolicies": inline})
    assert message.startswith("inlinePolicies[0].policy")
