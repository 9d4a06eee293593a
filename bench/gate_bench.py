"""The offline policy gate on the whole stack, next to its floor: a fresh interpreter that loads
what the gate really loads (pulumi, pulumi_aws with every submodule the stack's resources live
in, which pulumi_aws loads lazily, pulumi_random, pulumi_policy) and starts the pack in its own
process as the gate does, waiting for its port. Ours and the floor alternate."""

from __future__ import annotations

import contextlib
import io
import json

from common import ROOT, alternating, in_fresh_interpreter, pair

GATE = (
    "from failctl.cli import main; import sys, io, contextlib\n"
    "out = io.StringIO()\n"
    "with contextlib.redirect_stdout(out):\n"
    "    code = main(['preview', '-s', 'dev', '--policy-pack', 'policy', '--account', '123456789012', '--json'])\n"
    "assert code == 0 and len(__import__('json').loads(out.getvalue())['resources']) == {count}\n"
)
FLOOR = (
    "import subprocess, sys, pulumi, pulumi_aws, pulumi_random, pulumi_policy\n"
    "for module, name in {classes!r}:\n"
    "    getattr(getattr(pulumi_aws, module), name)\n"
    "pack = subprocess.Popen([sys.executable, '-m', 'pulumi.policy', '127.0.0.1:0', 'policy'],\n"
    "                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)\n"
    "assert int(pack.stdout.readline())\n"
    "pack.terminate(); pack.wait()\n"
)


def stack_resources() -> list[dict]:
    from failctl.cli import main

    out = io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out):
        assert main(["preview", "-s", "dev", "--policy-pack", "policy", "--account", "123456789012", "--json"]) == 0
    return json.loads(out.getvalue())["resources"]


def aws_classes(resources: list[dict]) -> list[tuple[str, str]]:
    """(pulumi_aws submodule, class) of each AWS resource type: `aws:s3/bucket:Bucket` -> (s3, Bucket)."""
    found = set()
    for resource in resources:
        provider, module_path, name = resource["type"].split(":")
        if provider == "aws":
            module = module_path.split("/")[0]
            found.add((f"{module}_" if module in ("lambda",) else module, name))
    return sorted(found)


def main() -> None:
    resources = stack_resources()
    classes = aws_classes(resources)
    print(f"offline gate on the whole stack ({len(resources)} resources; 5 fresh interpreters each side, alternating)")
    ours, floor = alternating(
        in_fresh_interpreter(GATE.format(count=len(resources)), ROOT),
        in_fresh_interpreter(FLOOR.format(classes=classes), ROOT),
    )
    print(pair("failctl preview --policy-pack policy", ours, floor))
    print(f"  floor: the SDKs, {len(classes)} pulumi_aws resource classes and the pack's own process started")


if __name__ == "__main__":
    main()
