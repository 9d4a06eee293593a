"""Program layouts the Pulumi CLI runs, gated offline the same way: `main:` naming a subfolder or a
file, `runtime.options.virtualenv`, and errors raised outside any file of the program."""

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from failctl import cli

ROOT = Path(__file__).resolve().parents[2]
OTHER_PROGRAM = ROOT / "tests" / "fixtures" / "other_program"
PACK = str(ROOT / "policy")


@pytest.fixture
def nested(tmp_path, monkeypatch):
    """The program's code in src/, its project and stack files one folder up."""
    folder = tmp_path / "orders"
    shutil.copytree(OTHER_PROGRAM, folder / "src")
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        (folder / "src" / name).rename(folder / name)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "home"))
    return folder


def project(folder: Path, extra: str) -> None:
    (folder / "Pulumi.yaml").write_text("name: orders-service\nruntime: python\n" + extra)


def gate(capsys, folder: Path, *extra: str) -> tuple[int, str, str]:
    argv = ["preview", "-C", str(folder), "-s", "dev", "--account", "123456789012", "--policy-pack", PACK]
    code = cli.main([*argv, "--format", "json", *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("main", ["src/", "src", "src/__main__.py"])
def test_main_names_the_program_to_run(capsys, nested, main):
    project(nested, f"main: {main}\n")
    code, out, err = gate(capsys, nested)
    assert code == 1, err
    files = {v["file"] for v in json.loads(out)["violations"]}
    assert files == {"src/__main__.py"}


@pytest.mark.parametrize(
    ("main", "said"),
    [("../", "is outside the project folder"), ("nope/", "does not exist"), ("./", "without a __main__.py")],
)
def test_a_main_that_cannot_run_is_named(capsys, nested, main, said):
    project(nested, f"main: {main}\n")
    code, _, err = gate(capsys, nested)
    assert code == 2 and f"main {main!r}" in err and said in err


def test_a_module_only_the_programs_virtualenv_has_names_the_way_out(capsys, nested):
    (nested / "Pulumi.yaml").write_text(
        "name: orders-service\nruntime:\n  name: python\n  options:\n    virtualenv: venv\nmain: src/\n"
    )
    main = nested / "src" / "__main__.py"
    main.write_text("import orders_sdk_only_in_venv\n" + main.read_text())
    code, _, err = gate(capsys, nested)
    assert code == 2 and "at src/__main__.py:1: ModuleNotFoundError" in err
    assert "install failctl into it (venv/bin/pip install" in err and len(err.strip().splitlines()) == 1


def test_an_error_outside_the_programs_files_names_no_made_up_file(capsys, nested):
    """A frame `<frozen runpy>` (or `<string>`) is no file in the program's folder."""
    project(nested, "main: src/\n")
    main = nested / "src" / "__main__.py"
    main.write_text(main.read_text() + "exec('raise KeyError(\"large\")')\n")
    code, _, err = gate(capsys, nested)
    assert code == 2 and "KeyError: 'large'" in err and "<string>" not in err and "<frozen" not in err
    assert f"at src/__main__.py:{len(main.read_text().splitlines())}:" in err


def test_a_program_reached_through_a_symlink_uses_the_stack_the_cli_selected_there(capsys, tmp_path, monkeypatch):
    """`pulumi stack select` run in a symlinked folder names the workspace file after the path the
    shell shows ($PWD, as Go's os.Getwd returns it), not the physical one."""
    import hashlib

    real = tmp_path / "checkout" / "orders"
    shutil.copytree(OTHER_PROGRAM, real)
    link = tmp_path / "orders-link"
    link.symlink_to(real)
    home = tmp_path / "home"
    monkeypatch.setenv("PULUMI_HOME", str(home))
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    digest = hashlib.sha1(str(link / "Pulumi.yaml").encode()).hexdigest()
    settings = home / "workspaces" / f"orders-service-{digest}-workspace.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"stack": "acme/orders-service/dev"}))
    monkeypatch.chdir(link)
    monkeypatch.setenv("PWD", str(link))
    code = cli.main(["preview", "--account", "123456789012", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["resources"]


NESTED = """

class Inner(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("acme:index:Inner", name, None, opts)
        aws.sqs.Queue(f"{name}-queue", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


class Outer(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("acme:index:Outer", name, None, opts)
        Inner(f"{name}-inner", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


Outer("shop")
"""


def test_urns_are_the_engines_so_an_exemption_copied_from_the_cli_matches(capsys, tmp_path, monkeypatch):
    """deployment.go generateURN: no `pulumi:pulumi:Stack$` before a top-level resource, and the
    parent's whole type chain before a child's type, as `pulumi stack --show-urns` prints them."""
    program = tmp_path / "orders"
    shutil.copytree(OTHER_PROGRAM, program)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "home"))
    (program / "__main__.py").write_text((program / "__main__.py").read_text() + NESTED)
    _, out, _ = gate(capsys, program)
    urns = {r["urn"] for r in json.loads(out)["resources"]}
    prefix = "urn:pulumi:dev::orders-service::"
    assert f"{prefix}aws:sqs/queue:Queue::orders-queue" in urns
    nested = f"{prefix}acme:index:Outer$acme:index:Inner$aws:sqs/queue:Queue::shop-inner-queue"
    assert nested in urns and not [u for u in urns if "pulumi:pulumi:Stack$" in u]

    until = (date.today() + timedelta(days=30)).isoformat()
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "sqs-queues-encrypted-with-customer-kms-key": {
                    "exemptions": [{"urn": nested, "reason": "vendor queue until the migration", "until": until}]
                }
            }
        )
    )
    code, out, _ = gate(capsys, program, "--policy-pack-config", str(config))
    assert code == 1  # the program's other mandatory findings stay
    verdict = json.loads(out)
    assert [e["urn"] for e in verdict["exemptions"] if e["inForce"]] == [nested]
    assert nested not in {v["urn"] for v in verdict["violations"] if v["level"] == "mandatory"}
