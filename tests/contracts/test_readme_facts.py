"""What the README tells a user to type or import, held to the tools' rules.

- `pulumi package add` from a git URL: the CLI gives a schema without a namespace the
  repository owner's name, lower-cased (pulumi/pulumi, `setSpecNamespace`: the first path
  segment after the host of the plugin's git:// download URL), and a Node.js SDK is named
  `@<namespace>/<package>` (`getNodeJSPkgName`), `@pulumi/<package>` without one.
- A negative config value needs `--`, or the CLI (cobra) reads `-1` as a flag.
- The consumer's grants are regional (kms:ViaService names a regional endpoint).
"""

from __future__ import annotations

import re
from pathlib import Path

from lambda_failures.component_package import PACKAGE_NAME

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def nodejs_package(source: str, schema_namespace: str = "") -> str:
    """The npm name the CLI gives the SDK it generates for `pulumi package add <source>`."""
    namespace = schema_namespace
    git = re.match(r"(?:https://|git://)?([^/]+\.[a-z]+)/([^/]+)/", source)
    if not namespace and git and not source.startswith((".", "/")):
        namespace = git.group(2).lower()
    return f"@{namespace}/{PACKAGE_NAME}" if namespace else f"@pulumi/{PACKAGE_NAME}"


def test_typescript_imports_match_the_names_the_cli_generates():
    assert nodejs_package("../lambda-failures/provider") == "@pulumi/lambda-failures"
    assert (
        nodejs_package("https://github.com/Acme-Platform/lambda-failures/provider") == "@acme-platform/lambda-failures"
    )
    assert f'from "{nodejs_package("../lambda-failures/provider")}"' in README
    shown = re.search(r"pulumi package add (https://github\.com/<owner>/\S+)", README)
    assert shown, "the README shows the git URL form"
    expected = nodejs_package(shown.group(1).replace("<owner>", "owner")).replace("owner", "<owner>")
    assert f'from "{expected}"' in README


def test_negative_config_values_are_written_after_double_dash():
    texts = [README, *(p.read_text() for p in ROOT.glob("examples/**/*.md"))]
    unguarded = [m.group(0) for t in texts for m in re.finditer(r"pulumi config set (?:--\S+ )*\S+ -\d+", t)]
    assert not unguarded, unguarded
    assert "pulumi config set reservedConcurrency -- -1" in README


def test_the_consumer_is_told_to_deploy_in_the_archives_account_and_region():
    assert "must deploy to the\narchive's account and region" in README
