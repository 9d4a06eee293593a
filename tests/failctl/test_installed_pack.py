"""What a non-editable install (`pip install "lambda-failures[tooling]"`) puts on disk and what its
failctl does with it: the default pack of `audit` and `policies` is in it; `demo`, which runs the
repository's own program and examples, says so in one line instead of a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from failctl.exit_status import ExitStatus
from failctl.preview import report_formats, rules_document
from failctl.preview.analyzer import PolicyInfo
from failctl.preview.gate import Pack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """build_py lays out exactly the packages and package data a wheel installs (pyproject.toml)."""
    tree = tmp_path_factory.mktemp("site-packages")
    build = [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py", "--build-lib", str(tree)]
    subprocess.run(build, cwd=ROOT, check=True, capture_output=True)
    return tree


def run_installed(tree: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, *argv], cwd=tree, env=env, capture_output=True, text=True, timeout=60)


def test_the_installed_tree_carries_the_pack_failctl_defaults_to(installed):
    where = run_installed(installed, "-c", "import failctl.cli as c; print(c.__file__); print(c.BUNDLED_PACK)")
    found = where.stdout.splitlines()
    assert Path(found[0]).is_relative_to(installed)  # the built copy, not the checkout
    pack = Path(found[1])
    assert (pack / "PulumiPolicy.yaml").read_text() == (ROOT / "policy" / "PulumiPolicy.yaml").read_text()
    assert (pack / "__main__.py").read_text() == (ROOT / "policy" / "__main__.py").read_text()


def test_the_installed_failctl_runs_its_pack(installed):
    """Started as the CLI starts a pack (its own process, the analyzer protocol), from the built copy."""
    from failure_guards.policies import NAMES

    listed = run_installed(installed, "-m", "failctl", "policies", "--json")
    assert listed.returncode == ExitStatus.OK, listed.stderr
    assert "Traceback" not in listed.stderr
    assert sorted(p["name"] for p in json.loads(listed.stdout)) == sorted(NAMES)


def test_the_installed_demo_says_in_one_line_that_it_needs_a_checkout(installed):
    demo = run_installed(installed, "-m", "failctl", "demo")
    assert demo.returncode == ExitStatus.ENVIRONMENT, demo.stderr
    assert demo.stderr.count("\n") == 1 and "checkout" in demo.stderr and "Traceback" not in demo.stderr


def test_policies_prints_no_blank_link_line_where_a_policy_has_no_link(monkeypatch, tmp_path):
    # An installed failctl ships no docs/: without --rules-url and the pack's own url there is no link.
    monkeypatch.setattr(report_formats, "RULES_DOCUMENT", tmp_path / "policies.md")
    linked = PolicyInfo("b-policy", "Has its own link.", "advisory", url="https://example.com/b")
    pack = Pack("p", [PolicyInfo("a-policy", "Has none.", "mandatory"), linked], server=None)  # type: ignore[arg-type]
    lines = rules_document.table(pack)
    assert [line for line in lines if not line.strip()] == []
    assert len(lines) == 4 and lines[-1].strip() == "https://example.com/b"
