"""Opt-in: preview the real program with the pack against a real AWS account (Automation API).

Run with LAMBDA_FAILURES_LIVE=1, the Pulumi CLI on PATH, AWS credentials, and optionally
LAMBDA_FAILURES_LIVE_REGION. It previews only: nothing is created.
"""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.skipif(
    os.environ.get("LAMBDA_FAILURES_LIVE") != "1" or shutil.which("pulumi") is None,
    reason="live preview is opt-in: set LAMBDA_FAILURES_LIVE=1 with the Pulumi CLI and AWS credentials",
)


def test_preview_with_policy_pack_passes_in_a_real_account(tmp_path):
    from pulumi import automation as auto

    os.environ.setdefault("PULUMI_CONFIG_PASSPHRASE", "")
    stack = auto.create_or_select_stack(
        stack_name="live-check",
        work_dir=str(ROOT),
        opts=auto.LocalWorkspaceOptions(env_vars={"PULUMI_BACKEND_URL": f"file://{tmp_path}"}),
    )
    stack.set_config("aws:region", auto.ConfigValue(os.environ.get("LAMBDA_FAILURES_LIVE_REGION", "eu-west-1")))
    stack.set_config("lambda-failures:allowDestroy", auto.ConfigValue("true"))
    result = stack.preview(policy_packs=[str(ROOT / "policy")])
    assert result.change_summary.get("create", 0) > 20
