"""An IAM policy evaluator for tests/contracts/test_iam_documents.py: whether a request is
allowed by a role's policy, a bucket policy or a key policy, as AWS decides it (an explicit
deny wins; a key policy must allow the caller, and through the account principal IAM decides).

Only the elements and condition operators this project's documents use are implemented; any
other raises UnsupportedPolicyElementError rather than being guessed. Actions and ARN globs
are matched by parliament, AWS's IAM reference, so an action AWS does not have fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import parliament


class UnsupportedPolicyElementError(Exception):
    """The document uses an element or operator this evaluator does not implement."""


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    principal: tuple[str, str] | None = None  # ("AWS", arn) or ("Service", "x.amazonaws.com")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def action_matches(patterns: Iterable[str], action: str) -> bool:
    parliament.expand_action(action)  # an action AWS does not have is a broken test
    for pattern in patterns:
        for expanded in parliament.expand_action(pattern):
            if f"{expanded['service']}:{expanded['action']}".lower() == action.lower():
                return True
    return False


def resource_matches(patterns: Iterable[str], resource: str) -> bool:
    return any(parliament.is_glob_match(pattern, resource) for pattern in patterns)


def principal_matches(stated: Any, principal: tuple[str, str] | None) -> bool:
    if principal is None:
        return False
    if stated == "*":
        return True
    kind, name = principal
    for value in _as_list(stated.get(kind, [])):
        if value in ("*", name):
            return True
        root = re.fullmatch(r"arn:[a-z-]+:iam::(\d{12}):root|(\d{12})", value)
        if kind == "AWS" and root and f":{root[1] or root[2]}:" in name:
            return True  # the account principal: delegates to the account's IAM policies
    return False


def condition_holds(block: dict[str, dict[str, Any]], context: dict[str, str | tuple[str, ...]]) -> bool:
    """All operators, all keys (AND); any listed value (OR). Keys are case-insensitive.

    A missing key fails every operator used here (AWS: a condition on a key absent from
    the request does not match, ForAnyValue included). A single-valued operator on a
    multivalued key (a tuple) does not match either: that is what set operators are for.
    """
    values = {key.lower(): value for key, value in context.items()}
    for operator, tests in block.items():
        for key, expected in tests.items():
            wanted = [str(v) for v in _as_list(expected)]
            actual = values.get(key.lower())
            if operator == "StringEquals":
                holds = isinstance(actual, str) and actual in wanted
            elif operator == "ForAnyValue:StringEquals":
                actual_set = actual if isinstance(actual, tuple) else (actual,) if actual is not None else ()
                holds = any(a in wanted for a in actual_set)
            elif operator == "ArnLike":
                holds = isinstance(actual, str) and any(parliament.is_glob_match(w, actual) for w in wanted)
            elif operator == "Bool":
                holds = isinstance(actual, str) and actual.lower() in [w.lower() for w in wanted]
            else:
                raise UnsupportedPolicyElementError(f"condition operator {operator}")
            if not holds:
                return False
    return True


def statement_applies(statement: dict[str, Any], request: Request, resource_policy: bool) -> bool:
    for element in ("NotAction", "NotResource", "NotPrincipal"):
        if element in statement:
            raise UnsupportedPolicyElementError(element)
    if not action_matches(_as_list(statement["Action"]), request.action):
        return False
    if "Resource" in statement and not resource_matches(_as_list(statement["Resource"]), request.resource):
        return False
    if resource_policy and not principal_matches(statement.get("Principal"), request.principal):
        return False
    return condition_holds(statement.get("Condition", {}), request.context)


def decide(document: dict[str, Any] | None, request: Request, resource_policy: bool = False) -> str:
    """ "deny" (an explicit Deny applies), "allow" (an Allow applies) or "none"."""
    if document is None:
        return "none"
    applying = [s for s in document["Statement"] if statement_applies(s, request, resource_policy)]
    if any(s["Effect"] == "Deny" for s in applying):
        return "deny"
    return "allow" if applying else "none"


def role_may(identity: dict, request: Request, bucket_policy: dict | None = None) -> bool:
    """A role's call to a resource: no explicit deny anywhere, and its own policy allows."""
    if decide(bucket_policy, request, resource_policy=True) == "deny":
        return False
    return decide(identity, request) == "allow"


def role_may_use_key(identity: dict, key_policy: dict, request: Request) -> bool:
    """KMS: the key policy must allow the caller; through the account principal, IAM decides."""
    key_decision = decide(key_policy, request, resource_policy=True)
    return key_decision == "allow" and decide(identity, request) == "allow"


def service_may_use_key(key_policy: dict, request: Request) -> bool:
    return decide(key_policy, request, resource_policy=True) == "allow"
