"""What a non-editable install (`pip install "lambda-failures[tooling]"`) puts on disk: failctl's
default pack for `audit` and `policies` must be in it, not only in a checkout of the repository."""

import subprocess
import sys
from pathlib import Path

from failctl.preview import report_formats, rules_document
from failctl.preview.analyzer import PolicyInfo
from failctl.preview.gate import Pack

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_tree_carries_the_pack_failctl_defaults_to(tmp_path):
    # build_py lays out exactly the packages and package data a wheel installs (pyproject.toml).
    build = [
        sys.executable,
        "-c",
        "from setuptools import setup; setup()",
        "-q",
        "build_py",
        "--build-lib",
        str(tmp_path),
    ]
    subprocess.run(build, cwd=ROOT, check=True, capture_output=True)
    where = "import failctl.cli as c; print(c.__file__); print(c.BUNDLED_PACK)"
    found = subprocess.run(
        [sys.executable, "-c", where],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert Path(found[0]).is_relative_to(tmp_path)  # the built copy, not the checkout
    pack = Path(found[1])
    assert (pack / "PulumiPolicy.yaml").read_text() == (ROOT / "policy" / "PulumiPolicy.yaml").read_text()
    assert (pack / "__main__.py").read_text() == (ROOT / "policy" / "__main__.py").read_text()


def test_policies_prints_no_blank_link_line_where_a_policy_has_no_link(monkeypatch, tmp_path):
    # An installed failctl ships no docs/: without --rules-url and the pack's own url there is no link.
    monkeypatch.setattr(report_formats, "RULES_DOCUMENT", tmp_path / "policies.md")
    linked = PolicyInfo("b-policy", "Has its own link.", "advisory", url="https://example.com/b")
    pack = Pack("p", [PolicyInfo("a-policy", "Has none.", "mandatory"), linked], server=None)  # type: ignore[arg-type]
    lines = rules_document.table(pack)
    assert [line for line in lines if not line.strip()] == []
    assert len(lines) == 4 and lines[-1].strip() == "https://example.com/b"
