"""Exemptions: one resource excused from one policy, with a reason and an expiry date.

Who may excuse what: a mandatory verdict blocks a deployment, so only the pack's owner (the
platform team, through the pack config passed with `--policy-pack-config`) can lift one. The
program's own tag can lift an advisory verdict only. `physical-names-unique` cannot be lifted
at all (the exemption would only hide a deploy that fails), nor can a policy's crash.

Declared with the resource, as a tag (advisory policies only):
    lambda-failures-exempt:<policy name> = "until YYYY-MM-DD: <reason>"
or in the pack config, per policy:
    {"<policy name>": {"exemptions": [{"urn": "<URN or pattern>", "reason": "...", "until": "YYYY-MM-DD"}],
                       "exemptionHorizonDays": 90}}

A URN pattern is `urn:pulumi:<stack>::<project>::<type>::<name>`, where `*` (the only
wildcard) matches any run of characters inside one part; every other character is literal.
The type is written out (no `*`) and matches the resource's own type, whatever its parents
(a type with `$` matches the whole parent chain exactly); the name needs at least one
character besides `*`. `?` and `[`/`]` are refused in patterns, so nobody reads a class
into them. A URN without `*` is matched exactly.

Every exemption needs a reason of words (at least two, not placeholders such as TODO) and an
expiry no later than the horizon (the policy's `exemptionHorizonDays`, 90 days unless the
owner sets 1 to 366). One that breaks a rule, or has expired, excuses nothing, and the
violation it fails to excuse says why. The offline gate imports this module, so it reads
exemptions exactly as the pack does. Which policies nothing may lift is declared with each
policy (policies.py, read when first asked), so a renamed policy keeps the property.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

TAG_PREFIX = "lambda-failures-exempt:"
COMPONENT_TYPE_PREFIX = "lambda-failures:index:"
HORIZON_SETTING = "exemptionHorizonDays"
DEFAULT_HORIZON_DAYS = 90
MAX_HORIZON_DAYS = 366
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
TAG_VALUE = re.compile(r"^\s*until\s+([^\s:]+)\s*:\s*(.*)$", re.DOTALL)
# AWS tag values: letters, numbers and spaces representable in UTF-8, and _ . : / = + - @; 256 at most.
AWS_TAG_PUNCTUATION = frozenset("_.:/=+-@")
AWS_TAG_VALUE_MAX = 256
PLACEHOLDERS = frozenset(
    {
        "todo",
        "tbd",
        "tba",
        "fixme",
        "xxx",
        "na",
        "none",
        "nothing",
        "temp",
        "tmp",
        "wip",
        "test",
        "later",
        "asdf",
        "qwerty",
        "qwer",
        "zxcv",
        "ok",
        "okay",
        "yes",
        "no",
        "skip",
        "ignore",
        "exception",
        "foo",
        "bar",
        "baz",
        "lorem",
        "ipsum",
        "reason",
        "exemption",
        "exempt",
        "because",
        "placeholder",
    }
)
MIN_REASON_WORDS = 2

CONFIG_SCHEMA = {
    "type": "array",
    "description": (
        "Resources excused from this policy by the pack's owner: URN or URN pattern (`*` inside one part; "
        "type and name written out), a reason in words, and an expiry date (YYYY-MM-DD) within the horizon."
    ),
    "items": {
        "type": "object",
        "properties": {
            "urn": {"type": "string", "pattern": "^urn:pulumi:"},
            "reason": {"type": "string", "minLength": 1},
            "until": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        },
        "required": ["urn", "reason", "until"],
    },
}
HORIZON_SCHEMA = {
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_HORIZON_DAYS,
    "default": DEFAULT_HORIZON_DAYS,
    "description": "How far ahead an exemption from this policy may expire, in days.",
}


@dataclass(frozen=True)
class Exemption:
    policy: str
    urn: str
    reason: str
    until: str  # as written; a date YYYY-MM-DD when readable
    source: str  # "tag" or "config"
    problem: str = ""  # why it excuses nothing; empty when it is well formed and allowed

    @property
    def expiry(self) -> date | None:
        return parse_day(self.until)

    @property
    def expired(self) -> bool:
        expiry = self.expiry
        return expiry is not None and expiry < today()

    @property
    def in_force(self) -> bool:
        return not self.problem and not self.expired

    @property
    def state(self) -> str:
        """A word a reader can sort by: in force, expired, or refused (malformed or not allowed)."""
        if self.problem:
            return f"REFUSED: {self.problem}"
        if self.expired:
            return f"EXPIRED on {self.until}"
        return f"until {self.until}"

    def why_not(self) -> str:
        """Why this exemption does not excuse the violation it names."""
        where = "tag" if self.source == "tag" else "pack config's exemption"
        if self.problem:
            return f"the {where} excuses nothing: {self.problem}"
        return (
            f"the {where} from this policy expired on {self.until} (reason: {self.reason}); fix the resource, "
            "or have it renewed with a new date."
        )


def today() -> date:
    return datetime.now(UTC).date()


def parse_day(text: str) -> date | None:
    """A date written YYYY-MM-DD, and only so (fromisoformat alone also takes 20261231 and weeks)."""
    if not DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def horizon_days(config: Mapping[str, Any]) -> int:
    raw = config.get(HORIZON_SETTING) if isinstance(config, Mapping) else None
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw == raw:
        return max(1, min(MAX_HORIZON_DAYS, int(raw)))
    return DEFAULT_HORIZON_DAYS


def reason_problem(reason: str) -> str:
    """At least two different words that are not placeholders (TODO, asdf) nor one letter
    repeated (aaaa bbbb): a reader must learn why from it."""
    words = {w.lower() for w in re.findall(r"[^\W\d_]{2,}", reason)}
    words = {w for w in words if w not in PLACEHOLDERS and len(set(w)) > 1}
    if len(words) < MIN_REASON_WORDS:
        return f"its reason {reason.strip()[:80]!r} says nothing; write why, in words (who, what, until when)"
    return ""


def date_problem(until: str, horizon: int) -> str:
    expiry = parse_day(until)
    if expiry is None:
        return f"its expiry {until[:40]!r} is malformed: write a date as YYYY-MM-DD"
    latest = today() + timedelta(days=horizon)
    if expiry > latest:
        return (
            f"its expiry {until} is beyond the {horizon}-day horizon (latest {latest.isoformat()}); "
            "exemptions are renewed, not granted for good"
        )
    return ""


def tag_value_problem(value: str) -> str:
    """AWS refuses the tag itself when its value breaks these rules, so the deployment would fail."""
    bad = sorted({c for c in value if not _aws_tag_character(c)})
    if bad:
        return (
            f"its value has characters AWS tag values do not allow ({''.join(bad)!r}; allowed: letters, "
            "digits, spaces, _ . : / = + - @)"
        )
    if len(value) > AWS_TAG_VALUE_MAX:
        return f"its value is {len(value)} characters; AWS allows {AWS_TAG_VALUE_MAX}"
    return ""


def _aws_tag_character(character: str) -> bool:
    return unicodedata.category(character)[0] in "LN" or character == " " or character in AWS_TAG_PUNCTUATION


# ---- URN patterns --------------------------------------------------------------------------------


def _parts(urn: str) -> list[str] | None:
    """[stack, project, qualified type, name] of a URN, or None when it is not one."""
    if not urn.startswith("urn:pulumi:"):
        return None
    parts = urn[len("urn:pulumi:") :].split("::", 3)
    return parts if len(parts) == 4 else None


def pattern_problem(pattern: str) -> str:
    parts = _parts(pattern)
    if parts is None:
        return f"{pattern[:120]!r} is not a URN or URN pattern (urn:pulumi:<stack>::<project>::<type>::<name>)"
    if "*" not in pattern:
        return ""
    type_, name = parts[2], parts[3]
    if any(c in pattern for c in "?[]"):
        return f"{pattern[:120]!r}: only * is a wildcard in a URN pattern (? and [..] are not allowed)"
    if "*" in type_ or ":" not in type_.rsplit("$", 1)[-1]:
        return f"{pattern[:120]!r} must write out the resource type (such as aws:sqs/queue:Queue), without *"
    if not name.strip("*"):
        return f"{pattern[:120]!r} must name the resource (at least one character besides *)"
    return ""


def _glob(pattern: str, text: str) -> bool:
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), text, re.DOTALL) is not None


def urn_matches(pattern: str, urn: str) -> bool:
    """Whether a well-formed pattern (see pattern_problem) names this URN."""
    if "*" not in pattern:
        return pattern == urn
    want, have = _parts(pattern), _parts(urn)
    if want is None or have is None:
        return False
    type_ok = want[2] == have[2] if "$" in want[2] else want[2] == have[2].rsplit("$", 1)[-1]
    return type_ok and all(_glob(w, h) for w, h in ((want[0], have[0]), (want[1], have[1]), (want[3], have[3])))


def _loosely_matches(pattern: str, urn: str) -> bool:
    """How a reader might expect a broken pattern to match (`?` any one character): so the
    violation it was meant to excuse can say why it does not."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, urn, re.DOTALL) is not None


# ---- Reading declarations ------------------------------------------------------------------------


def tags_of(props: Any) -> Mapping[str, Any]:
    try:
        tags = props["tags"] if "tags" in props else None
    except Exception:  # an unknown tag map at preview declares nothing readable
        return {}
    return tags if isinstance(tags, Mapping) else {}


def from_tag(policy: str, urn: str, props: Any, config: Mapping[str, Any], advisory: bool) -> Exemption | None:
    """The resource's own tag for this policy, with its problem when it cannot excuse."""
    try:
        value = tags_of(props).get(f"{TAG_PREFIX}{policy}")
    except Exception:
        return None
    if not isinstance(value, str):
        return None
    match = TAG_VALUE.match(value)
    reason, until = (match.group(2).strip(), match.group(1)) if match else (value.strip(), "")
    problem = tag_problem(policy, value) or _inherited(urn)
    if not problem:
        problem = date_problem(until, horizon_days(config))
    if not problem and not advisory:
        problem = (
            "a tag cannot lift a mandatory policy; exemptions from mandatory policies belong to the pack's "
            "owner (the pack config's `exemptions`)"
        )
    return Exemption(policy, urn, reason, until, "tag", problem)


def _inherited(urn: str) -> str:
    """The project's components give their `tags` to every resource inside them, so a tag on a
    resource inside one was given to the whole component: it must not exempt them all."""
    parts = _parts(urn)
    parents = parts[2].split("$")[:-1] if parts else []
    component = next((p for p in parents if p.startswith(COMPONENT_TYPE_PREFIX)), None)
    if component is None:
        return ""
    return (
        f"the tag was given to the whole {component.rsplit(':', 1)[-1]} component, which passes its tags to "
        "every resource inside it; a component's tag exempts none of them (the pack config can exempt this one)"
    )


def unexemptable(policy: str) -> str:
    """Why nothing may lift this policy, as its declaration says; "" when something may."""
    from .policies import UNEXEMPTABLE  # the declarations; that list imports this module

    return UNEXEMPTABLE.get(policy, "")


def _unexemptable_problem(policy: str) -> str:
    why = unexemptable(policy)
    return f"{policy} cannot be exempted ({why})" if why else ""


def tag_problem(policy: str, value: str) -> str:
    """What is wrong with a tag exemption in itself, whatever the policy's level and horizon."""
    problem = _unexemptable_problem(policy) or tag_value_problem(value)
    if problem:
        return problem
    match = TAG_VALUE.match(value)
    if match is None:
        return 'its value is malformed: write "until YYYY-MM-DD: <reason>"'
    if parse_day(match.group(1)) is None:
        return f"its expiry {match.group(1)[:40]!r} is malformed: write a date as YYYY-MM-DD"
    return reason_problem(match.group(2))


def config_entries(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = config.get("exemptions") if isinstance(config, Mapping) else None
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list | tuple) else []


def entry_problem(policy: str, entry: Mapping[str, Any], horizon: int) -> str:
    problem = _unexemptable_problem(policy)
    if problem:
        return problem
    urn, reason, until = (entry.get(k) for k in ("urn", "reason", "until"))
    if not isinstance(urn, str) or not isinstance(reason, str) or not isinstance(until, str):
        return "it needs urn, reason and until, each a string"
    return pattern_problem(urn) or reason_problem(reason) or date_problem(until, horizon)


def from_config(policy: str, urn: str, config: Mapping[str, Any]) -> Exemption | None:
    """The first well-formed config exemption naming this resource; else the first broken one
    that looks meant for it (with its problem); else None."""
    horizon = horizon_days(config)
    broken = None
    for entry in config_entries(config):
        problem = entry_problem(policy, entry, horizon)
        pattern = entry.get("urn")
        if not isinstance(pattern, str):
            continue
        found = Exemption(policy, urn, str(entry.get("reason", "")), str(entry.get("until", "")), "config", problem)
        if not problem and urn_matches(pattern, urn):
            return found
        if problem and broken is None and _loosely_matches(pattern, urn):
            broken = found
    return broken


def config_problems(policy: str, config: Mapping[str, Any]) -> list[str]:
    """Each config exemption that can never excuse, said once (for tools that read the config up front)."""
    horizon = horizon_days(config)
    return [
        f"{policy} exemption {entry.get('urn')!r}: {problem}"
        for entry in config_entries(config)
        if (problem := entry_problem(policy, entry, horizon))
    ]


def judged(urn: str, judges: Iterable[str] | None) -> bool:
    """Whether a policy that judges these resource types (None: every type) judges this resource."""
    parts = _parts(urn)
    return judges is None or (parts is not None and parts[2].rsplit("$", 1)[-1] in judges)


def find(
    policy: str, urn: str, props: Any, config: Mapping[str, Any], advisory: bool, judges: Iterable[str] | None = None
) -> Exemption | None:
    """The exemption declared for this resource and policy: the owner's config first (a valid
    one wins), then the resource's tag. Check `in_force` before honouring it. None where the
    policy does not judge the resource's type (`judges`): excusing it there would only be noise."""
    if not judged(urn, judges):
        return None
    configured = from_config(policy, urn, config)
    if configured is not None and configured.in_force:
        return configured
    return from_tag(policy, urn, props, config, advisory) or configured


def tag_policies(props: Any) -> dict[str, Any]:
    """Policy name -> value for every exemption tag the resource carries."""
    tags, found = tags_of(props), {}
    for key in list(tags):
        if isinstance(key, str) and key.startswith(TAG_PREFIX):
            try:
                found[key[len(TAG_PREFIX) :]] = tags[key]
            except Exception:  # unknown at preview: nothing to read yet
                continue
    return found


# ---- Exemptions in force, noted for the advisory report ------------------------------------------
# Every policy runs in the pack's one process; the engine calls Analyze for each resource, then
# AnalyzeStack once, and the note policy runs last there. What each policy excused is kept here
# until the note policy reports it, so the Pulumi CLI prints every exemption in force.

_LOCK = threading.Lock()
_NOTES: dict[str, dict[str, tuple[Exemption, tuple[str, ...]]]] = {}


def note(exemption: Exemption, hidden: Iterable[str]) -> None:
    with _LOCK:
        _NOTES.setdefault(exemption.urn, {})[exemption.policy] = (exemption, tuple(hidden))


def take_notes() -> dict[str, dict[str, tuple[Exemption, tuple[str, ...]]]]:
    with _LOCK:
        notes = dict(_NOTES)
        _NOTES.clear()
    return notes


def note_message(policy: str, exemption: Exemption, hidden: tuple[str, ...]) -> str:
    by = "the resource's tag" if exemption.source == "tag" else "the pack config"
    head = f"exempt from {policy} until {exemption.until} by {by}: {exemption.reason}"
    if not hidden:
        return f"{head} (the resource complies: the exemption can go)"
    more = f" (and {len(hidden) - 1} more)" if len(hidden) > 1 else ""
    return f"{head}; it hides: {hidden[0].strip()}{more}"
