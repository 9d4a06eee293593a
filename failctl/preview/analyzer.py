"""A policy pack run as the Pulumi CLI runs it: its own process, spoken to over gRPC.

How the CLI does it (pulumi/pulumi, `pkg/resource/plugin/analyzer_plugin.go`,
`NewPolicyAnalyzer`): for a Python pack it starts the language's policy host, which is
`python -m pulumi.policy <engine address> <pack directory>` from the pulumi SDK
(`sdk/python/lib/pulumi/policy/__main__.py`, `main`); that runs the pack's `__main__.py`,
where constructing `PolicyPack` starts the analyzer server on 127.0.0.1 and prints its port
on stdout. The CLI then calls the Analyzer service (`analyzer.proto`): GetAnalyzerInfo,
Configure, Remediate and Analyze per resource, AnalyzeStack once.

Differences, said plainly: the CLI runs the pack with the interpreter of the pack's own
virtualenv (`policy/venv`); this runs it with the interpreter given (the project's), and
sends no engine address (nothing in the pack logs through the engine).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from failctl.preview.plugin_process import PluginError, PluginProcess
from failure_guards.struct_values import struct_to_dict

CALL_SECONDS = 120
LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "disabled": analyzer_pb2.DISABLED,
    "remediate": analyzer_pb2.REMEDIATE,
}
LEVEL_NAMES = {number: name for name, number in LEVELS.items()}
# analyzer.proto `PolicySeverity`: 0 is unspecified.
SEVERITIES = {1: "low", 2: "medium", 3: "high", 4: "critical"}
# The server's words when a policy reads a value unknown at preview (pulumi_policy, Analyze).
CANNOT_RUN = "can't run policy"


class AnalyzerError(Exception):
    """The pack could not be started, or did not answer as an analyzer must."""


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    level: str
    config_properties: dict[str, Any] = field(default_factory=dict)
    config_required: tuple[str, ...] = ()
    severity: str = ""  # low, medium, high, critical; "" when the pack does not say
    tags: tuple[str, ...] = ()
    url: str = ""


@dataclass
class AnalyzedResource:
    """A resource as the engine hands it to an analyzer: engine-shaped props (camelCase,
    numbers as floats, unknowns as the sentinel, secrets wrapped)."""

    urn: str
    type: str
    name: str
    props: dict[str, Any]
    parent: str | None = None
    protect: bool = False
    dependencies: dict[str, list[str]] = field(default_factory=dict)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(value, struct_pb2.Struct())


def _options(resource: AnalyzedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(protect=resource.protect, parent=resource.parent or "")


def _request(resource: AnalyzedResource) -> analyzer_pb2.AnalyzeRequest:
    return analyzer_pb2.AnalyzeRequest(
        type=resource.type,
        properties=_struct(resource.props),
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
    )


class PackServer:
    """One pack process and its gRPC channel; close it (or use `with`) to stop the process."""

    def __init__(self, directory: str | Path, python: str = sys.executable) -> None:
        self.directory = Path(directory).resolve()
        try:
            self._plugin = PluginProcess(
                [python, "-m", "pulumi.policy", "127.0.0.1:0", str(self.directory)], cwd=self.directory
            )
        except PluginError as error:
            raise AnalyzerError(f"policy pack {self.directory.name} did not start: {error}") from None
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._plugin.channel)

    @property
    def alive(self) -> bool:
        return self._plugin.alive

    @property
    def pid(self) -> int:
        return self._plugin.pid

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=CALL_SECONDS)
        except grpc.RpcError as error:
            detail = error.details() if hasattr(error, "details") else str(error)
            raise AnalyzerError(f"{method} failed in the pack: {str(detail).strip().splitlines()[-1:]}") from None

    def info(self) -> tuple[str, list[PolicyInfo]]:
        answer = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        policies = []
        for policy in answer.policies:
            schema = json_format.MessageToDict(policy.configSchema) if policy.HasField("configSchema") else {}
            policies.append(
                PolicyInfo(
                    name=policy.name,
                    description=policy.description,
                    level=LEVEL_NAMES.get(policy.enforcementLevel, "advisory"),
                    config_properties=_integers(dict(schema.get("properties") or {})),
                    config_required=tuple(schema.get("required") or ()),
                    severity=SEVERITIES.get(policy.severity, ""),
                    tags=tuple(policy.tags),
                    url=policy.url,
                )
            )
        return answer.name, policies

    def configure(self, config: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """Levels and per-policy config, as the CLI sends them after validating the pack config."""
        request = analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={
                name: analyzer_pb2.PolicyConfig(enforcementLevel=LEVELS[level], properties=_struct(properties))
                for name, (level, properties) in config.items()
            }
        )
        self._call("Configure", request)

    def remediate(self, resource: AnalyzedResource) -> list[tuple[str, dict[str, Any] | None, str]]:
        """(policy, new props or None, diagnostic) for each remediation the pack applied."""
        answer = self._call("Remediate", _request(resource))
        return [
            (
                r.policyName,
                struct_to_dict(r.properties) if r.HasField("properties") else None,  # NaN as read
                r.diagnostic,
            )
            for r in answer.remediations
        ]

    def analyze(self, resource: AnalyzedResource) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        return list(self._call("Analyze", _request(resource)).diagnostics)

    def analyze_stack(self, resources: list[AnalyzedResource]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type=r.type,
                    properties=_struct(r.props),
                    urn=r.urn,
                    name=r.name,
                    options=_options(r),
                    parent=r.parent or "",
                    dependencies=sorted({u for urns in r.dependencies.values() for u in urns}),
                    propertyDependencies={
                        key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
                        for key, urns in r.dependencies.items()
                    },
                )
                for r in resources
            ]
        )
        return list(self._call("AnalyzeStack", request).diagnostics)

    def close(self) -> None:
        self._plugin.close()

    def __enter__(self) -> PackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def level_name(number: int) -> str:
    return LEVEL_NAMES.get(analyzer_pb2.EnforcementLevel.ValueType(number), "advisory")


def is_unknown_at_preview(diagnostic: analyzer_pb2.AnalyzeDiagnostic) -> bool:
    """The server's report that a policy read a value unknown at preview (not a violation)."""
    return diagnostic.message.startswith(CANNOT_RUN)


def _integers(value: Any) -> Any:
    """Schemas come back from protobuf with every number a float: whole ones are ints again,
    for the gate's validation and defaults and for the rules document alike."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integers(v) for v in value]
    return value
