"""The offline policy gate on the whole stack, next to its floor: a fresh interpreter that loads
what the gate really loads (pulumi, pulumi_aws with every submodule the stack's resources live
in, which pulumi_aws loads lazily, pulumi_random, pulumi_policy) and starts the pack in its own
process as the gate does, waiting for its port. Ours and the floor alternate.

Then the gate's own part, in one process with the pack started: `gate.evaluate` over the stack
copied COPIES times (Remediate and Analyze per resource, AnalyzeStack once, exemptions read),
next to the same requests built beforehand and sent straight through the gRPC stub from a pool
as wide as the pack's server; and, for the record, `evaluate` asking one resource at a time."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from concurrent.futures import ThreadPoolExecutor

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


COPIES = 5


def analyzer_calls() -> None:
    from support.pulumi_harness import run_program

    from failctl.preview import analyzer, gate

    pack = gate.load_pack(ROOT / "policy")
    config = gate.load_config(None, pack)
    stack = run_program().resources
    plan = [dataclasses.replace(r, urn=f"{r.urn}-{copy}") for copy in range(COPIES) for r in stack]
    custom = [gate._resource(r) for r in plan if r.custom]
    requests = [analyzer._request(r) for r in custom]
    assert custom and requests, "the stack has resources for the pack to judge"
    proto = analyzer.analyzer_pb2
    stack_request = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(type=r.type, properties=analyzer._struct(r.props), urn=r.urn, name=r.name)
            for r in map(gate._resource, plan)
        ]
    )
    stub = pack.server._stub

    def ours(calls: int) -> None:
        gate.CONCURRENT_CALLS = calls
        assert gate.evaluate(pack, plan, config).resources == len(custom)

    def floor() -> None:
        def both(request: object) -> object:
            stub.Remediate(request, timeout=analyzer.CALL_SECONDS)
            return stub.Analyze(request, timeout=analyzer.CALL_SECONDS)

        with ThreadPoolExecutor(max_workers=gate.CONCURRENT_CALLS) as pool:
            assert len(list(pool.map(both, requests))) == len(requests)
        stub.AnalyzeStack(stack_request, timeout=analyzer.CALL_SECONDS)

    calls = gate.CONCURRENT_CALLS
    overlapped, one_at_a_time, bare = alternating(lambda: ours(calls), lambda: ours(1), floor)
    gate.CONCURRENT_CALLS = calls
    print(f"the gate's analyzer calls ({len(plan)} resources, {len(custom)} judged one by one; 5 rounds, alternating)")
    print(pair(f"gate.evaluate, {calls} calls at a time", overlapped, bare))
    print(pair("gate.evaluate, one call at a time", one_at_a_time, bare))
    print(f"  floor: the same Remediate and Analyze requests, built beforehand, from a pool of {calls}; AnalyzeStack")


def main() -> None:
    resources = stack_resources()
    classes = aws_classes(resources)
    assert resources and classes, "the gate has a plan, and the floor loads its resource classes"
    print(f"offline gate on the whole stack ({len(resources)} resources; 5 fresh interpreters each side, alternating)")
    ours, floor = alternating(
        in_fresh_interpreter(GATE.format(count=len(resources)), ROOT),
        in_fresh_interpreter(FLOOR.format(classes=classes), ROOT),
    )
    print(pair("failctl preview --policy-pack policy", ours, floor))
    print(f"  floor: the SDKs, {len(classes)} pulumi_aws resource classes and the pack's own process started")
    analyzer_calls()


if __name__ == "__main__":
    main()
