"""The gate's verdict in the formats CI systems read: SARIF 2.1.0 (code-scanning dashboards) and
JUnit XML (test reports).

SARIF: one rule per policy (its description, the fix as help, its level), one result per
violation, located at the resource's URN (a logical location: a plan has no source lines),
and a note per policy that could not decide. JUnit: one test case per policy x resource that
a policy reported on (failure for a mandatory violation, a system-out note for an advisory),
one per policy that passed everything, and a skipped case per undecided check.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from failctl.preview.gate import GateResult, Pack

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {"mandatory": "error", "advisory": "warning", "remediate": "note", "disabled": "none"}
TOOL = "failctl"


def _rules(pack: Pack, config: dict[str, tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [
        {
            "id": policy.name,
            "name": policy.name,
            "shortDescription": {"text": policy.description},
            "fullDescription": {"text": policy.description},
            "help": {"text": f"{policy.description} The violation message names the property and the fix."},
            "defaultConfiguration": {"level": SARIF_LEVELS.get(config.get(policy.name, (policy.level,))[0], "warning")},
        }
        for policy in pack.policies
    ]


def sarif(result: GateResult, pack: Pack, config: dict[str, tuple[str, dict[str, Any]]]) -> str:
    rules = _rules(pack, config)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for v in result.violations:
        entry: dict[str, Any] = {
            "ruleId": v.policy,
            "level": SARIF_LEVELS.get(v.level, "warning"),
            "message": {"text": v.message},
            "locations": [
                {"logicalLocations": [{"fullyQualifiedName": v.urn or f"stack {result.pack}", "kind": "resource"}]}
            ],
        }
        if v.policy in index:
            entry["ruleIndex"] = index[v.policy]
        results.append(entry)
    for u in result.undecided:
        results.append(
            {
                "ruleId": u.policy,
                "level": "note",
                "kind": "open",
                "message": {"text": f"could not decide at preview: {u.reason}"},
                "locations": [{"logicalLocations": [{"fullyQualifiedName": u.urn or "stack", "kind": "resource"}]}],
            }
        )
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": TOOL, "rules": rules}},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2)


def junit(result: GateResult, pack: Pack) -> str:
    suite = ElementTree.Element(
        "testsuite",
        name=f"policy pack {result.pack}",
        tests="0",
        failures=str(sum(1 for v in result.violations if v.level == "mandatory")),
        skipped=str(len(result.undecided)),
    )
    reported = {v.policy for v in result.violations} | {u.policy for u in result.undecided}
    cases = 0
    for v in result.violations:
        case = ElementTree.SubElement(suite, "testcase", classname=v.policy, name=v.urn or "stack")
        if v.level == "mandatory":
            ElementTree.SubElement(case, "failure", message=v.message, type="mandatory").text = v.message
        else:
            ElementTree.SubElement(case, "system-out").text = f"{v.level}: {v.message}"
        cases += 1
    for u in result.undecided:
        case = ElementTree.SubElement(suite, "testcase", classname=u.policy, name=u.urn or "stack")
        ElementTree.SubElement(case, "skipped", message=f"could not decide at preview: {u.reason}")
        cases += 1
    for policy in pack.policies:
        if policy.name not in reported:
            ElementTree.SubElement(suite, "testcase", classname=policy.name, name=f"all {result.resources} resources")
            cases += 1
    suite.set("tests", str(cases))
    suites = ElementTree.Element("testsuites")
    suites.append(suite)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True)
