"""S3 write and list grants must be limited to buckets owned by named accounts.

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
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
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
)
PRINCIPAL_ACCOUNT = "${aws:PrincipalAccount}"
ACCOUNT_ID = re.compile(r"^\d{12}$")
DOCUMENT_PROPS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
NAME = "s3-write-grants-require-resource-account"
FIX = (
    'add "Condition": {"StringEquals": {"s3:ResourceAccount": "<account id>"}} naming the account that owns the bucket'
)


def _iam_pattern(pattern: str) -> str:
    """IAM wildcards are only * and ?; brackets are literal, unlike fnmatch."""
    return pattern.lower().replace("[", "[[]")


def granted_sensitive_actions(statement: Mapping[str, Any]) -> list[str]:
    """The S3 write/list actions an Allow statement grants (through Action or NotAction)."""
    effect = statement.get("Effect")
    if not isinstance(effect, str) or effect.lower() != "allow":
        return []
    if "Action" in statement:
        patterns = [_iam_pattern(p) for p in as_list(statement["Action"]) if isinstance(p, str)]
        return [a for a in S3_WRITE_OR_LIST if any(fnmatchcase(a, p) for p in patterns)]
    if "NotAction" in statement:
        excluded = [_iam_pattern(p) for p in as_list(statement["NotAction"]) if isinstance(p, str)]
        return [a for a in S3_WRITE_OR_LIST if not any(fnmatchcase(a, p) for p in excluded)]
    return []


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


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    allowed = _allowed_accounts(args)
    for prop, raw in _documents(args):
        try:
            document = parse_document(raw)
        except MalformedDocumentError as error:
            report_violation(
                f"{prop} is {error}: its S3 grants cannot be checked for s3:ResourceAccount; "
                "give a JSON IAM policy document.",
                None,
            )
            continue
        for message in check_document(document, prop, allowed):
            report_violation(message, None)


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Every IAM Allow statement that grants S3 write or list actions must carry "
        "Condition StringEquals s3:ResourceAccount naming the accounts allowed to own the bucket."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={
            "allowedAccounts": {
                "type": "array",
                "items": {"type": "string", "pattern": r"^(\d{12}|\$\{aws:PrincipalAccount\})$"},
                "description": "Accounts s3:ResourceAccount may name; without it any literal "
                "12-digit account or ${aws:PrincipalAccount} is accepted.",
            }
        }
    ),
)
