"""S3 write and list grants must be limited to buckets owned by named accounts.

Inline documents are read statement by statement. AWS managed policies attached to roles,
users and groups (attachments, `managedPolicyArns`) carry no s3:ResourceAccount condition:
those known to write to S3 are refused, those known to grant no S3 action pass, and any
other is refused unless the pack config lists it (fail closed).

Without `s3:ResourceAccount`, a grant on a bucket name follows that name: if the bucket is
deleted and someone else creates one with the same name, Lambda's failure records (and
anything else the role writes) go to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
)

from .common import MalformedDocumentError, as_list, dig, parse_document, statement_label, statements

# The actions whose grant lets a principal put data into (or enumerate) a bucket.
S3_WRITE_OR_LIST = (
    "s3:putobject",
    "s3:putobjectacl",
    "s3:putobjecttagging",
    "s3:putobjectversiontagging",
    "s3:replicateobject",
    "s3:restoreobject",
    "s3:abortmultipartupload",
    "s3:deleteobject",
    "s3:listbucket",
    "s3:listbucketversions",
    "s3:listbucketmultipartuploads",
    "s3:listmultipartuploadparts",
    # Reads of archive data: a grant on a claimable name would read records someone else planted
    # (and replay would re-drive them).
    "s3:getobject",
    "s3:getobjectversion",
)
# Actions that move records through a queue or a table: granted on "*", they reach every queue
# and table the role's account can (and queues of other accounts whose policies allow it).
DATA_ACTIONS = (
    "sqs:sendmessage",
    "sqs:receivemessage",
    "sqs:deletemessage",
    "dynamodb:getitem",
    "dynamodb:batchgetitem",
    "dynamodb:query",
    "dynamodb:scan",
    "dynamodb:putitem",
    "dynamodb:batchwriteitem",
    "dynamodb:updateitem",
    "dynamodb:deleteitem",
    "dynamodb:partiqlselect",
    "dynamodb:partiqlinsert",
    "dynamodb:partiqlupdate",
    "dynamodb:partiqldelete",
)
# A resource that names no queue or table: "*", or an ARN of the service with any account.
EVERY_RESOURCE = re.compile(r"^(\*|arn:[^:]*:(sqs|dynamodb):[^:]*:\*(:.*)?)$")
PRINCIPAL_ACCOUNT = "${aws:PrincipalAccount}"
ACCOUNT_ID = re.compile(r"^\d{12}$")
DOCUMENT_PROPS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
# Where AWS managed policies are attached: resource type -> props holding one ARN or a list.
ATTACHMENT_PROPS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn",),
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": ("policyArn",),
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": ("policyArn",),
    "aws:iam/policyAttachment:PolicyAttachment": ("policyArn",),
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": ("policyArns",),
    "aws:iam/role:Role": ("managedPolicyArns",),
}
# The types each policy of this module judges.
GRANT_TYPES = (*DOCUMENT_PROPS, *ATTACHMENT_PROPS)
DATA_GRANT_TYPES = (*DOCUMENT_PROPS, "aws:iam/role:Role")
AWS_MANAGED = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?([^/]+)$")
# AWS managed policies whose grants include S3 writes with no s3:ResourceAccount condition.
S3_WRITING_MANAGED = {
    "AdministratorAccess": "grants *",
    "PowerUserAccess": "grants every action but IAM and Organizations",
    "AmazonS3FullAccess": "grants s3:*",
}
# AWS managed policies a Lambda role commonly carries that grant no S3 action at all.
NO_S3_MANAGED = frozenset(
    {
        "AWSLambdaBasicExecutionRole",
        "AWSLambdaDynamoDBExecutionRole",
        "AWSLambdaKinesisExecutionRole",
        "AWSLambdaSQSQueueExecutionRole",
        "AWSLambdaVPCAccessExecutionRole",
        "AWSXRayDaemonWriteAccess",
        "AWSXrayWriteOnlyAccess",
        "CloudWatchLambdaInsightsExecutionRolePolicy",
    }
)
FIX = (
    'add "Condition": {"StringEquals": {"s3:ResourceAccount": "<account id>"}} naming the account that owns the bucket'
)


def _iam_pattern(pattern: str) -> str:
    """IAM wildcards are only * and ?; brackets are literal, unlike fnmatch."""
    return pattern.lower().replace("[", "[[]")


def granted_sensitive_actions(statement: Mapping[str, Any], actions: tuple[str, ...] = S3_WRITE_OR_LIST) -> list[str]:
    """The S3 write/list/read actions (or `actions`) an Allow statement grants (through Action or NotAction)."""
    effect = statement.get("Effect")
    if not isinstance(effect, str) or effect.lower() != "allow":
        return []
    if "Action" in statement:
        patterns = [_iam_pattern(p) for p in as_list(statement["Action"]) if isinstance(p, str)]
        return [a for a in actions if any(fnmatchcase(a, p) for p in patterns)]
    if "NotAction" in statement:
        excluded = [_iam_pattern(p) for p in as_list(statement["NotAction"]) if isinstance(p, str)]
        return [a for a in actions if not any(fnmatchcase(a, p) for p in excluded)]
    return []


def check_data_grants(document: Mapping[str, Any], label: str) -> Iterator[str]:
    """One message per statement that grants queue or table data actions on every resource."""
    for index, statement in statements(document):
        actions = granted_sensitive_actions(statement, DATA_ACTIONS)
        if not actions:
            continue
        resources = [r for r in as_list(statement.get("Resource")) if isinstance(r, str)]
        broad = [r for r in resources if EVERY_RESOURCE.match(r)]
        if "NotResource" in statement:
            broad.append("NotResource")
        if not broad:
            continue
        shown = ", ".join(actions[:3]) + (f" (+{len(actions) - 3} more)" if len(actions) > 3 else "")
        yield (
            f"{label} {statement_label(index, statement)} allows {shown} on {broad[0]!r}, so the role can move "
            "records into or out of any queue or table it can reach; name the queue and table ARNs in Resource "
            "(e.g. resources=[queue.arn, table.arn])."
        )


def resource_account_values(statement: Mapping[str, Any]) -> list[Any] | None:
    """The values of StringEquals s3:ResourceAccount (condition keys match in any case)."""
    string_equals = dig(statement, "Condition", "StringEquals")
    if not isinstance(string_equals, Mapping):
        return None
    for key in string_equals:
        if isinstance(key, str) and key.lower() == "s3:resourceaccount":
            return as_list(string_equals[key])
    return None


def _bad_account(value: Any, allowed: list[str] | None) -> str | None:
    if not isinstance(value, str) or not value:
        return f"{value!r} is not an account id"
    if "*" in value or "?" in value:
        return f"{value!r} is a wildcard"
    if allowed is not None:
        return None if value in allowed else f"{value!r} is not one of the allowed accounts {allowed}"
    if ACCOUNT_ID.match(value) or value == PRINCIPAL_ACCOUNT:
        return None
    return f"{value!r} is neither a 12-digit account id nor {PRINCIPAL_ACCOUNT}"


def check_document(document: Mapping[str, Any], label: str, allowed: list[str] | None) -> Iterator[str]:
    """One message per statement that grants S3 writes without a valid ResourceAccount condition."""
    for index, statement in statements(document):
        actions = granted_sensitive_actions(statement)
        if not actions:
            continue
        where = f"{label} {statement_label(index, statement)} allows {', '.join(actions[:3])}"
        if len(actions) > 3:
            where += f" (+{len(actions) - 3} more)"
        values = resource_account_values(statement)
        if not values:
            yield f"{where} without Condition StringEquals s3:ResourceAccount; {FIX}."
            continue
        problems = [p for p in (_bad_account(v, allowed) for v in values) if p]
        if problems:
            yield f"{where} but its s3:ResourceAccount condition is wrong: {'; '.join(problems)}; {FIX}."


def validate_data_grants(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for prop, document in _parsed_documents(args, report_violation, "its grants cannot be checked"):
        for message in check_data_grants(document, prop):
            report_violation(message, None)


def _documents(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    prop = DOCUMENT_PROPS.get(args.resource_type)
    if prop is not None:
        if prop in args.props and args.props[prop] is not None:
            yield prop, args.props[prop]
        return
    if args.resource_type == "aws:iam/role:Role":
        for i, inline in enumerate(as_list(args.props.get("inlinePolicies"))):
            if isinstance(inline, Mapping) and inline.get("policy") is not None:
                yield f"inlinePolicies[{i}].policy", inline["policy"]


def _allowed_accounts(args: ResourceValidationArgs) -> list[str] | None:
    accounts = args.get_config().get("allowedAccounts")
    if isinstance(accounts, list | tuple) and accounts:
        return [str(a) for a in accounts]
    return None


def _attached_policy_arns(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    for prop in ATTACHMENT_PROPS.get(args.resource_type, ()):
        if prop in args.props:
            for index, arn in enumerate(as_list(args.props[prop])):
                yield (prop if not isinstance(args.props[prop], list | tuple) else f"{prop}[{index}]"), arn


def check_managed_policy(arn: Any, where: str, allowed: frozenset[str]) -> str | None:
    """A message when an attached AWS managed policy may grant S3 writes: its document carries
    no s3:ResourceAccount condition, and one the pack does not know cannot be shown not to."""
    match = AWS_MANAGED.match(arn) if isinstance(arn, str) else None
    if match is None:
        return None  # a customer managed policy: its own document is checked where it is defined
    name = match.group(1)
    if name in NO_S3_MANAGED or name in allowed or arn in allowed:
        return None
    if name in S3_WRITING_MANAGED:
        return (
            f"{where} attaches the AWS managed policy {name}, which {S3_WRITING_MANAGED[name]}, including S3 "
            f"writes with no s3:ResourceAccount condition; attach an inline or customer managed policy that "
            f"grants only what is needed, with {FIX.removeprefix('add ')}."
        )
    return (
        f"{where} attaches the AWS managed policy {name}, whose grants the pack cannot see and which carries "
        "no s3:ResourceAccount condition; grant S3 access in an inline policy with the condition, or, if it "
        "grants no S3 write or list action, add it to allowedManagedPolicies in the pack config."
    )


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    allowed = _allowed_accounts(args)
    allowed_managed = frozenset(str(p) for p in as_list(args.get_config().get("allowedManagedPolicies")))
    for where, arn in _attached_policy_arns(args):
        message = check_managed_policy(arn, where, allowed_managed)
        if message:
            report_violation(message, None)
    for prop, document in _parsed_documents(args, report_violation, "its S3 grants cannot be checked"):
        for message in check_document(document, prop, allowed):
            report_violation(message, None)


def _parsed_documents(
    args: ResourceValidationArgs, report_violation: ReportViolation, consequence: str
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The resource's policy documents, parsed; one that is not a JSON document is a violation."""
    for prop, raw in _documents(args):
        try:
            yield prop, parse_document(raw)
        except MalformedDocumentError as error:
            report_violation(f"{prop} is {error}: {consequence}; give a JSON IAM policy document.", None)


# The settings `validate` reads from the pack config, as JSON schemas.
CONFIG = {
    "allowedAccounts": {
        "type": "array",
        "items": {"type": "string", "pattern": r"^(\d{12}|\$\{aws:PrincipalAccount\})$"},
        "description": "Accounts s3:ResourceAccount may name; without it any literal "
        "12-digit account or ${aws:PrincipalAccount} is accepted.",
    },
    "allowedManagedPolicies": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "description": "AWS managed policies (names or ARNs) known to grant no S3 write or list "
        "action, which may be attached; AdministratorAccess, PowerUserAccess and "
        "AmazonS3FullAccess are always refused.",
    },
}
