"""A plain install (no extras) gets one line naming the extra, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Runs failctl in a fresh interpreter where the named modules cannot be imported, as in an
# install without the tooling extra.
WITHOUT = textwrap.dedent(
    """
    import sys
    from importlib.abc import MetaPathFinder

    class Missing(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {blocked!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Missing())
    from failctl.launcher import main
    sys.exit(main({argv!r}))
    """
)


def _run(blocked: set[str], argv: list[str]) -> subprocess.CompletedProcess[str]:
    code = WITHOUT.format(blocked=blocked, argv=argv)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("argv", [["--help"], ["query", "errors-by-type", "--source", "."]])
def test_missing_tooling_dependency_is_one_line_naming_the_extra(argv: list[str]) -> None:
    result = _run({"botocore", "boto3"}, argv)
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "failctl: botocore is not installed; failctl needs the tooling extra: pip install 'lambda-failures[tooling]'"
    ]
    assert "Traceback" not in result.stderr


def test_dependency_missing_only_when_a_subcommand_imports_it() -> None:
    """duckdb is imported by the query command when it runs, not by --help."""
    assert _run({"duckdb"}, ["--help"]).returncode == 0
    result = _run({"duckdb"}, ["query", "errors-by-type", "--source", "."])
    assert result.returncode == 3
    assert "duckdb is not installed" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_console_script_is_the_launcher() -> None:
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "failctl"]
    assert script.value == "failctl.launcher:main"
