"""Exemptions: one resource excused from one policy, with a reason and an expiry date.

Declared with the resource, as a tag the pack reads under the Pulumi CLI as well:
    lambda-failures-exempt:<policy name> = "until YYYY-MM-DD: <reason>"
(AWS tag values allow letters, digits, spaces and `_ . : / = + - @`), or in the pack config,
per policy, by URN pattern (`*` and `?` match any text):
    {"<policy name>": {"exemptions": [{"urn": "urn:pulumi:*::*::aws:sqs/queue:Queue::legacy-*",
                                        "reason": "...", "until": "YYYY-MM-DD"}]}}
An exemption past its date no longer excuses: it is a violation of that policy. Standard
library only, so the offline gate lists exemptions with the same reading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fnmatch import fnmatchcase
from typing import Any

TAG_PREFIX = "lambda-failures-exempt:"
TAG_VALUE = re.compile(r"^\s*until\s+(\d{4}-\d{2}-\d{2})\s*:\s*(\S.*)$")
CONFIG_SCHEMA = {
    "type": "array",
    "description": "Resources excused from this policy: URN pattern, reason, expiry date (YYYY-MM-DD).",
    "items": {
        "type": "object",
        "properties": {
            "urn": {"type": "string", "minLength": 1},
            "reason": {"type": "string", "minLength": 1},
            "until": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        },
        "required": ["urn", "reason", "until"],
    },
}


@dataclass(frozen=True)
class Exemption:
    policy: str
    urn: str
    reason: str
    until: str  # YYYY-MM-DD, or "" when the declaration is unreadable
    source: str  # "tag" or "config"

    @property
    def valid(self) -> bool:
        try:
            date.fromisoformat(self.until)
        except ValueError:
            return False
        return True

    @property
    def expired(self) -> bool:
        return not self.valid or date.fromisoformat(self.until) < datetime.now(UTC).date()


def _tags(props: Any) -> Mapping[str, Any]:
    try:
        tags = props["tags"] if "tags" in props else None
    except Exception:  # an unknown tag map at preview declares nothing readable
        return {}
    return tags if isinstance(tags, Mapping) else {}


def from_tags(policy: str, urn: str, props: Any) -> Exemption | None:
    try:
        value = _tags(props).get(f"{TAG_PREFIX}{policy}")
    except Exception:
        return None
    if not isinstance(value, str):
        return None
    match = TAG_VALUE.match(value)
    if match is None:
        return Exemption(policy, urn, value.strip(), "", "tag")
    return Exemption(policy, urn, match.group(2).strip(), match.group(1), "tag")


def from_config(policy: str, urn: str, config: Mapping[str, Any]) -> Exemption | None:
    entries = config.get("exemptions") if isinstance(config, Mapping) else None
    for entry in entries if isinstance(entries, list | tuple) else []:
        if isinstance(entry, Mapping) and isinstance(entry.get("urn"), str) and fnmatchcase(urn, entry["urn"]):
            return Exemption(policy, urn, str(entry.get("reason", "")), str(entry.get("until", "")), "config")
    return None


def find(policy: str, urn: str, props: Any, config: Mapping[str, Any]) -> Exemption | None:
    """The exemption that applies to this resource and policy, declared by tag or by config."""
    return from_tags(policy, urn, props) or from_config(policy, urn, config)


def expired_message(exemption: Exemption) -> str:
    if not exemption.valid:
        return (
            f"the exemption ({exemption.source}) from this policy has no readable expiry: write "
            f'"until YYYY-MM-DD: <reason>"; until then it excuses nothing.'
        )
    return (
        f"the exemption ({exemption.source}) from this policy expired on {exemption.until} "
        f"(reason: {exemption.reason}); fix the resource, or renew the exemption with a new date."
    )
