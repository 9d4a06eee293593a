"""The engine's side of a component provider's Construct, served over gRPC as the CLI serves it.

The provider (provider/__main__.py) runs in its own process and calls back an Engine service
(Log, root resource) and a ResourceMonitor (feature support, invokes, registrations), both at
addresses it is given. Here they are one loopback server whose monitor is the offline preview's
(failctl.preview.synth): invokes answered as at preview, ids and computed outputs unknown, every
registration kept as the engine would hand it to the policy pack.
"""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2, resource_pb2, resource_pb2_grpc
from pulumi.runtime.rpc import UNKNOWN

from failctl.preview.synth import PreviewMocks, RecordingMonitor


class PreviewMonitor(RecordingMonitor):
    """The offline preview's monitor, with URNs of a named project and stack."""

    def __init__(self, mocks: PreviewMocks, project: str, stack: str) -> None:
        super().__init__(mocks)
        self.project, self.stack = project, stack

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent:
            type_ = parent.split("::")[2].split("$")[-1] + "$" + type_
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def SupportsFeature(self, request):  # noqa: N802 (gRPC method name)
        return resource_pb2.SupportsFeatureResponse(hasSupport=super().SupportsFeature(request).hasSupport)


class _Served:
    """A gRPC servicer over plain methods that take the request alone; the rest unimplemented."""

    def __init__(self, target: Any, base: Any) -> None:
        self._target, self._base = target, base

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name, None)
        if method is None:
            return getattr(self._base, name)
        return lambda request, context: method(request)


class EngineLog:
    def __init__(self) -> None:
        self.messages: list[tuple[int, str]] = []
        self.root = ""

    def Log(self, request):  # noqa: N802
        self.messages.append((request.severity, request.message))
        return empty_pb2.Empty()

    def GetRootResource(self, request):  # noqa: N802
        return engine_pb2.GetRootResourceResponse(urn=self.root)

    def SetRootResource(self, request):  # noqa: N802
        self.root = request.urn
        return engine_pb2.SetRootResourceResponse()


class FakeEngine:
    """Start it, point the provider at `address`, then send Construct with `construct_request`."""

    def __init__(self, account_id: str, region: str, project: str = "consumer", stack: str = "dev") -> None:
        self.project, self.stack = project, stack
        self.monitor = PreviewMonitor(PreviewMocks(account_id, region), project, stack)
        self.log = EngineLog()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(
            _Served(self.monitor, resource_pb2_grpc.ResourceMonitorServicer()), self._server
        )
        engine_pb2_grpc.add_EngineServicer_to_server(_Served(self.log, engine_pb2_grpc.EngineServicer()), self._server)
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()

    def construct_request(
        self, type_: str, name: str, inputs: dict[str, Any], dependencies: dict[str, list[str]] | None = None
    ) -> provider_pb2.ConstructRequest:
        """A fresh stack's preview: `UNKNOWN` in inputs is a value no one knows yet; `dependencies`
        are the URNs each input is computed from, as the caller's SDK sends them."""
        return provider_pb2.ConstructRequest(
            project=self.project,
            stack=self.stack,
            organization="organization",
            dryRun=True,
            parallel=8,
            monitorEndpoint=self.address,
            type=type_,
            name=name,
            inputs=json_format.ParseDict(inputs, struct_pb2.Struct()),
            inputDependencies={
                key: provider_pb2.ConstructRequest.PropertyDependencies(urns=urns)
                for key, urns in (dependencies or {}).items()
            },
        )

    def close(self) -> None:
        self._server.stop(grace=None)


def state(response: provider_pb2.ConstructResponse) -> dict[str, Any]:
    """A Construct answer's outputs, unknowns as `UNKNOWN`."""
    return json_format.MessageToDict(response.state)


__all__ = ["UNKNOWN", "FakeEngine", "state"]
