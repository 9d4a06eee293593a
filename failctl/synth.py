"""Run the real Pulumi program under Pulumi's mock engine, as a fresh stack's preview sees it.

The mocks answer the provider's invokes (account, region, partition) and return each
resource's inputs as its planned state, so inputs stay known and everything the provider
computes (ids, ARNs, key ids) stays unknown: the same picture `pulumi preview` gives the
policy pack on a brand-new stack. Props are kept as the engine sends them (camelCase,
numbers as floats, unknowns as the engine's sentinel strings).
"""

from __future__ import annotations

import json
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT_DIR = Path(__file__).resolve().parent.parent
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown-string sentinel
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


class StackConfigError(Exception):
    """The stack file is missing or unreadable."""


class OfflineInvokeError(Exception):
    """The program called a provider function the offline preview has no answer for."""


@dataclass
class SynthResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    props: dict[str, Any]
    protect: bool = False
    dependencies: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Synthesis:
    project: str
    stack: str
    resources: list[SynthResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[SynthResource]:
        return [r for r in self.resources if r.type == type_]


class PreviewMocks(pulumi.runtime.Mocks):
    def __init__(self, account_id: str, region: str, partition: str = "aws") -> None:
        self.account_id = account_id
        self.region = region
        self.partition = partition

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        # An empty id is unknown in preview; inputs are the planned state, as on a create.
        return "", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:{self.partition}:iam::{self.account_id}:user/preview",
                "userId": "AIDAPREVIEW",
                "id": self.account_id,
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": self.partition, "dnsSuffix": "amazonaws.com", "id": self.partition}
        raise OfflineInvokeError(f"no offline answer for invoke {args.token}; add one to PreviewMocks.call")


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Keeps each registration as the engine would hand it to an analyzer."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[SynthResource] = []

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                SynthResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    custom=bool(request.custom),
                    props=json_format.MessageToDict(request.object),
                    protect=bool(request.protect),
                    dependencies={key: list(deps.urns) for key, deps in request.propertyDependencies.items()},
                )
            )
        return response


def read_stack_config(project_dir: Path, stack: str) -> dict[str, str]:
    """`Pulumi.<stack>.yaml` as the engine passes config to a program: every value a string."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise StackConfigError(f"no stack file {path.name} in {project_dir.name}/")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise StackConfigError(f"{path.name} is not valid YAML: {error}") from None
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise StackConfigError(f"{path.name}: 'config' must be a mapping")
    return {key: _config_string(value) for key, value in config.items()}


def _config_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def project_name(project_dir: Path) -> str:
    return yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]


def synthesize(
    stack: str = "dev",
    config: dict[str, str] | None = None,
    project_dir: Path = PROJECT_DIR,
    account_id: str = DEFAULT_ACCOUNT,
) -> Synthesis:
    """Run `__main__.py` once, fresh, and return what it registered and exported.

    `config` replaces the stack file when given (tests build variants this way).
    """
    project = project_name(project_dir)
    if config is None:
        config = read_stack_config(project_dir, stack)
    region = config.get("aws:region", DEFAULT_REGION)
    mocks = PreviewMocks(account_id, region)
    monitor = RecordingMonitor(mocks)

    pulumi_settings.reset_options(project=project, stack=stack, preview=True)
    set_all_config(dict(config))
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=True, monitor=monitor)

    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    program = str(project_dir / "__main__.py")
    _sync_await(run_pulumi_func(lambda: runpy.run_path(program, run_name="__main__")))

    root = pulumi_settings.get_root_resource()
    outputs = _sync_await(_resolve_outputs(dict(getattr(root, "outputs", {}) or {})))
    return Synthesis(project, stack, monitor.registrations, outputs)


async def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        known = await output.is_known()
        resolved[key] = await output.future() if known else UNKNOWN
    return resolved
