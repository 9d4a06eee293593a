"""The gate's verdict in the formats CI systems read: SARIF 2.1.0 (code scanning) and JUnit XML
(test reports), and the rules document both link to.

SARIF: one rule per policy (description, help, `helpUri` to the policy's section of the rules
document, default level, `security-severity` and tags as GitHub code scanning reads them), plus
the rule of a pack failure. One result per finding, at the file and line where the program
declared the resource (repository-relative: the git work tree, else the program's folder), with
the URN as its logical location and a fingerprint made of policy, type and logical name (stable
when code moves). Exempted resources are results with a `suppressions` entry carrying the
reason; checks that could not decide are `kind: open`, `level: none` (SARIF §3.27.9-10).

JUnit, in the shape the Surefire XSD (`surefire-test-report-3.0.xsd`) defines: one `testsuite`
root with `tests`, `errors`, `skipped` and `failures`; a case per policy x resource reported (a
failure for a mandatory violation, system-out for an advisory one, skipped for an exemption or an
undecided check), an `error` for a pack failure, and one case per policy that passed everything,
which becomes an error when the pack failed (a crash is never a pass). Names are unique within a
class, and text that XML 1.0 cannot carry (control characters) is escaped, never written raw.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from failctl.preview.analyzer import PolicyInfo
from failctl.preview.gate import MANDATORY, PACK_FAILURE, GateResult, Pack, ReportOptions

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {"mandatory": "error", "advisory": "warning", "remediate": "note", "disabled": "none"}
# GitHub code scanning reads `security-severity` as a CVSS-like score: >9 critical, 7-8.9 high,
# 4-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
TOOL = "failctl"
SOURCE_ROOT = "%SRCROOT%"
FINGERPRINT = "failctlFinding/v1"
RULES_DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "policies.md"
PACK_FAILURE_RULE = PolicyInfo(
    name=PACK_FAILURE,
    description="The policy pack failed while judging a resource or the stack: the gate fails closed.",
    level=MANDATORY,
    severity="high",
)


def tool_version() -> str:
    try:
        return metadata.version("lambda-failures")
    except metadata.PackageNotFoundError:
        return "0"


def help_uri(policy: PolicyInfo, rules_url: str = "") -> str:
    """The policy's own link when the pack gives one, else its section of the rules document where
    it is published (`--rules-url`), else of the local copy; "" when there is none (an installed
    package ships no docs/): no link beats a dead one on someone else's machine."""
    if policy.url:
        return policy.url
    if rules_url:
        return f"{rules_url.split('#', 1)[0]}#{anchor(policy.name)}"
    return f"{RULES_DOCUMENT.as_uri()}#{anchor(policy.name)}" if RULES_DOCUMENT.is_file() else ""


def anchor(name: str) -> str:
    """The anchor a Markdown renderer gives a `## name` heading."""
    return re.sub(r"[^a-z0-9 _-]", "", name.lower()).replace(" ", "-")


def _rule(policy: PolicyInfo, level: str, rules_url: str = "") -> dict[str, Any]:
    tags = ["security", "lambda-failures", *policy.tags]
    properties: dict[str, Any] = {"tags": list(dict.fromkeys(tags)), "precision": "very-high"}
    if policy.severity:
        properties["security-severity"] = SECURITY_SEVERITY[policy.severity]
    link = help_uri(policy, rules_url)
    see = f" See [{policy.name}]({link})." if link else ""
    rule: dict[str, Any] = {
        "id": policy.name,
        "name": policy.name,
        "shortDescription": {"text": policy.description},
        "fullDescription": {"text": policy.description},
        "help": {
            "text": f"{policy.description} Each finding's message names the property to change and the fix.",
            "markdown": f"{policy.description}\n\nEach finding's message names the property to change and the fix."
            + see,
        },
        "defaultConfiguration": {"level": SARIF_LEVELS.get(level, "warning")},
        "properties": properties,
    }
    if link:
        rule["helpUri"] = link
    return rule


def _rules(pack: Pack, options: ReportOptions) -> list[dict[str, Any]]:
    """A skipped policy keeps its level here: the run's invocation says it was switched off."""
    skipped = dict(options.skipped)
    levels = {p.name: skipped.get(p.name) or options.config.get(p.name, (p.level,))[0] for p in pack.policies}
    rules = [_rule(p, levels[p.name], options.rules_url) for p in pack.policies]
    rules.append(_rule(PACK_FAILURE_RULE, MANDATORY, options.rules_url))
    return rules


def _pack(options: ReportOptions) -> Pack:
    """The pack that judged: these formats list its policies, so they need it."""
    if options.pack is None:
        raise ValueError("SARIF and JUnit reports list the pack's policies: ReportOptions.pack is required")
    return options.pack


def _location(result: GateResult, urn: str | None) -> dict[str, Any]:
    location: dict[str, Any] = {}
    found = result.location(urn)
    if found is not None:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": found[0], "uriBaseId": SOURCE_ROOT},
            "region": {"startLine": found[1]},
        }
    location["logicalLocations"] = [{"fullyQualifiedName": urn or f"stack of {result.pack}", "kind": "resource"}]
    return location


def _fingerprint(policy: str, urn: str | None) -> str:
    """Policy, type and logical name: the same finding keeps it when lines move or the stack changes."""
    tail = urn.split("::", 2)[-1] if urn else "(stack)"
    return hashlib.sha256(f"{policy}\0{tail}".encode()).hexdigest()


def _result(result: GateResult, index: dict[str, int], policy: str, urn: str | None, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"ruleId": policy}
    if policy in index:
        entry["ruleIndex"] = index[policy]
    entry.update(fields)
    entry["locations"] = [_location(result, urn)]
    entry["partialFingerprints"] = {FINGERPRINT: _fingerprint(policy, urn)}
    return entry


def sarif(result: GateResult, options: ReportOptions) -> str:
    rules = _rules(_pack(options), options)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    levels = {name: level for name, (level, _) in options.config.items()}
    results = [
        _result(result, index, v.policy, v.urn, level=SARIF_LEVELS.get(v.level, "warning"), message={"text": v.message})
        for v in result.violations
    ]
    for e in result.exemptions:
        if not e.in_force:
            # Expired, malformed or not allowed (a tag on a mandatory policy): it excuses nothing and the
            # violation says why. A suppression here would share the violation's fingerprint, and code
            # scanning would read the alert as dismissed.
            continue
        results.append(
            _result(
                result,
                index,
                e.policy,
                e.urn,
                level=SARIF_LEVELS.get(levels.get(e.policy, "advisory"), "warning"),
                message={"text": f"exempted until {e.until}: {e.reason}"},
                suppressions=[
                    {
                        "kind": "inSource" if e.source == "tag" else "external",
                        "status": "accepted",
                        "justification": f"{e.reason} (until {e.until}, by {e.source})",
                    }
                ],
            )
        )
    for u in result.undecided:
        results.append(
            _result(
                result,
                index,
                u.policy,
                u.urn,
                kind="open",
                level="none",
                message={"text": f"could not decide at preview: {u.reason}"},
            )
        )
    run: dict[str, Any] = {
        "tool": {"driver": {"name": TOOL, "version": tool_version(), "rules": rules}},
        "results": results,
    }
    run["invocations"] = [_invocation(result, options, index)]
    root = result.source_root or result.program_dir
    if root is not None:
        run["originalUriBaseIds"] = {SOURCE_ROOT: {"uri": root.as_uri() + "/"}}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)


def _invocation(result: GateResult, options: ReportOptions, index: dict[str, int]) -> dict[str, Any]:
    """What the command line changed: each skipped policy switched off (SARIF §3.20.5), with a
    notification (an error for a mandatory one), and --soft-fail."""
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if options.skipped:
        invocation["ruleConfigurationOverrides"] = [
            {"descriptor": {"id": name, "index": index[name]}, "configuration": {"enabled": False}}
            for name, _ in options.skipped
        ]
    notes = [
        {
            "level": "error" if level in (MANDATORY, "remediate") else "warning",
            "message": {"text": f"{level} policy {name} was skipped on the command line: not checked"},
            "descriptor": {"id": name, "index": index[name]},
        }
        for name, level in options.skipped
    ]
    if options.soft_fail and result.blocked:
        notes.append({"level": "warning", "message": {"text": "mandatory violations, exit 0 under --soft-fail"}})
    if notes:
        invocation["toolConfigurationNotifications"] = notes
    return invocation


# XML 1.0 `Char`: tab, newline, carriage return and everything from space up, less surrogates and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Characters XML 1.0 cannot hold, written as `\\uNNNN` escapes: the document stays well-formed."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _Suite:
    def __init__(self, name: str) -> None:
        self.element = ElementTree.Element("testsuite", name=xml_text(name))
        self.counts = {"tests": 0, "errors": 0, "skipped": 0, "failures": 0}
        self._names: set[tuple[str, str]] = set()

    def case(self, classname: str, name: str) -> ElementTree.Element:
        unique, n = name, 1
        while (classname, unique) in self._names:
            n += 1
            unique = f"{name} #{n}"
        self._names.add((classname, unique))
        self.counts["tests"] += 1
        return ElementTree.SubElement(
            self.element, "testcase", name=xml_text(unique), classname=xml_text(classname), time="0"
        )

    def child(self, case: ElementTree.Element, tag: str, text: str, **attributes: str) -> None:
        element = ElementTree.SubElement(case, tag, {k: xml_text(v) for k, v in attributes.items()})
        element.text = xml_text(text)
        counted = {"failure": "failures", "error": "errors", "skipped": "skipped"}.get(tag)
        if counted:
            self.counts[counted] += 1

    def xml(self) -> str:
        for key in ("tests", "errors", "skipped", "failures"):
            self.element.set(key, str(self.counts[key]))
        self.element.set("time", "0")
        return ElementTree.tostring(self.element, encoding="unicode", xml_declaration=True)


def _case_name(result: GateResult, urn: str | None) -> str:
    name = urn.rsplit("::", 1)[-1] if urn else "(stack)"
    found = result.location(urn)
    return f"{name} ({found[0]}:{found[1]})" if found else (urn or "(stack)")


def junit(result: GateResult, options: ReportOptions) -> str:
    pack = _pack(options)
    suite = _Suite(f"policy pack {result.pack}")
    for v in result.violations:
        case = suite.case(v.policy, _case_name(result, v.urn))
        detail = f"{v.message}\n{v.urn or '(stack)'}"
        if v.policy == PACK_FAILURE:
            suite.child(case, "error", detail, message=v.message, type="policy pack failure")
        elif v.level == MANDATORY:
            suite.child(case, "failure", detail, message=v.message, type=MANDATORY)
        else:
            suite.child(case, "system-out", f"{v.level}: {detail}")
    for e in result.exemptions:
        if e.in_force:  # one that excuses nothing is no skip: its violation is the failure
            case = suite.case(e.policy, _case_name(result, e.urn))
            suite.child(case, "skipped", "", message=f"exempted until {e.until}: {e.reason} (by {e.source})")
    for u in result.undecided:
        case = suite.case(u.policy, _case_name(result, u.urn))
        suite.child(case, "skipped", "", message=f"could not decide at preview: {u.reason}")
    for name, level in options.skipped:
        case = suite.case(name, "not checked")
        suite.child(case, "skipped", "", message=f"{level} policy skipped on the command line (--check/--skip-check)")
    reported = {v.policy for v in result.violations} | {u.policy for u in result.undecided}
    crashed = sum(1 for v in result.violations if v.policy == PACK_FAILURE)
    for policy in pack.policies:
        if policy.name in reported or options.config.get(policy.name, ("",))[0] == "disabled":
            continue
        excused = sum(1 for e in result.exemptions if e.policy == policy.name and e.in_force)
        judged = f"the other {result.resources - excused} resources" if excused else f"all {result.resources} resources"
        case = suite.case(policy.name, judged)
        if crashed:
            message = f"not a pass: the policy pack failed {crashed} time(s), so this policy's verdict is unknown"
            suite.child(case, "error", message, message=message, type="policy pack failure")
    return suite.xml()
