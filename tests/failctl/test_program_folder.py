"""`failctl preview` gates the program of the folder it runs in, as `pulumi preview` does: the
nearest Pulumi.yaml at or above the working directory (or -C/--cwd), the stack given with
-s/--stack, else the one `pulumi stack select` stored, else a request for --stack."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from failctl import cli

OTHER_PROGRAM = Path(__file__).resolve().parent.parent / "fixtures" / "other_program"
PACK = str(Path(__file__).resolve().parents[2] / "policy")
ACCOUNT = ("--account", "123456789012")
OTHER_MANDATORY = [
    ("s3-write-grants-require-resource-account", "orders-write"),
    ("sqs-queues-encrypted-with-customer-kms-key", "orders-queue"),
    ("stream-mapping-retries-bounded", "orders-mapping"),
]


@pytest.fixture
def pulumi_home(tmp_path, monkeypatch):
    home = tmp_path / "pulumi-home"
    monkeypatch.setenv("PULUMI_HOME", str(home))
    for name in ("PULUMI_STACK", "PULUMI_BACKEND_URL"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def orders(tmp_path, monkeypatch, pulumi_home):
    """Another team's program in a folder of its own, the working directory of the test."""
    folder = tmp_path / "orders"
    shutil.copytree(OTHER_PROGRAM, folder)
    monkeypatch.chdir(folder)
    return folder


def preview(capsys, *argv):
    code = cli.main(["preview", *ACCOUNT, "--policy-pack", PACK, "--format", "json", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def mandatory(out: str) -> list[tuple[str, str]]:
    verdict = json.loads(out)
    found = [v for v in verdict["violations"] if v["level"] == "mandatory"]
    return sorted((v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in found)


def select_stack(home: Path, program: Path, project: str, settings: dict) -> Path:
    """What `pulumi stack select` writes (pkg/workspace/workspace.go settingsPath)."""
    digest = hashlib.sha1(str(program / "Pulumi.yaml").encode()).hexdigest()
    path = home / "workspaces" / f"{project}-{digest}-workspace.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))
    return path


def test_the_program_in_the_working_folder_is_gated_not_the_bundled_one(capsys, orders):
    code, out, err = preview(capsys, "-s", "dev")
    assert code == 1, err
    assert mandatory(out) == OTHER_MANDATORY
    assert all("::orders-service::" in r["urn"] for r in json.loads(out)["resources"])


def test_without_a_selected_stack_it_asks_for_one_never_dev(capsys, orders):
    code, out, err = preview(capsys)
    assert code == 2 and out == ""
    assert "no stack selected for project orders-service" in err and "-s/--stack NAME" in err
    assert "(stack files here: dev)" in err and len(err.strip().splitlines()) == 1


def test_the_stack_pulumi_stack_select_chose_is_used_from_a_subfolder(capsys, orders, pulumi_home, monkeypatch):
    select_stack(pulumi_home, orders, "orders-service", {"stack": "acme/orders-service/dev"})
    sub = orders / "handlers"
    sub.mkdir()
    monkeypatch.chdir(sub)
    code, out, err = preview(capsys)
    assert code == 1, err
    assert mandatory(out) == OTHER_MANDATORY


def test_a_per_backend_selection_follows_the_current_backend(capsys, orders, pulumi_home, monkeypatch):
    (orders / "Pulumi.prod.yaml").write_text("config:\n  aws:region: us-east-2\n")
    select_stack(
        pulumi_home,
        orders,
        "orders-service",
        {"stacks": {"https://api.pulumi.com": "acme/orders-service/prod", "file://~": "dev"}},
    )
    monkeypatch.setenv("PULUMI_BACKEND_URL", "https://api.pulumi.com")
    code, out, _ = preview(capsys)
    assert code == 1
    assert json.loads(out)["resources"][0]["urn"].startswith("urn:pulumi:prod::orders-service::")
    monkeypatch.setenv("PULUMI_BACKEND_URL", "file://~")
    code, out, _ = preview(capsys)
    assert json.loads(out)["resources"][0]["urn"].startswith("urn:pulumi:dev::")


def test_pulumi_stack_overrides_the_workspace_file(capsys, orders, pulumi_home, monkeypatch):
    (orders / "Pulumi.qa.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    select_stack(pulumi_home, orders, "orders-service", {"stack": "dev"})
    monkeypatch.setenv("PULUMI_STACK", "acme/orders-service/qa")
    _, out, _ = preview(capsys)
    assert json.loads(out)["resources"][0]["urn"].startswith("urn:pulumi:qa::orders-service::")


def test_cwd_points_at_a_program_from_anywhere(capsys, tmp_path, pulumi_home, monkeypatch):
    folder = tmp_path / "elsewhere" / "orders"
    shutil.copytree(OTHER_PROGRAM, folder)
    monkeypatch.chdir(tmp_path)
    code, out, _ = preview(capsys, "-C", str(folder), "--stack", "dev")
    assert code == 1 and mandatory(out) == OTHER_MANDATORY


def test_no_project_anywhere_up_the_tree_is_bad_input(capsys, tmp_path, pulumi_home, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = preview(capsys, "-s", "dev")
    assert code == 2 and "no Pulumi.yaml project file found" in err and "-C/--cwd" in err


def test_this_projects_own_preview_runs_from_its_root(capsys, pulumi_home, monkeypatch):
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    code, out, err = preview(capsys, "-s", "dev")
    assert code == 0, err
    assert json.loads(out)["resources"][0]["urn"].startswith("urn:pulumi:dev::lambda-failures::")


def test_an_unreadable_workspace_file_is_bad_input_naming_it(capsys, orders, pulumi_home):
    path = select_stack(pulumi_home, orders, "orders-service", {})
    path.write_text("{not json")
    code, _, err = preview(capsys)
    assert code == 2 and "could not parse file" in err and path.name in err and "--stack" in err


def test_a_project_file_the_offline_preview_cannot_read_is_named(capsys, tmp_path, pulumi_home, monkeypatch):
    (tmp_path / "Pulumi.yml").write_text("name: x\nruntime: python\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = preview(capsys, "-s", "dev")
    assert code == 2 and "Pulumi.yml: the offline preview reads only Pulumi.yaml projects" in err
