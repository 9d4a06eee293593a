"""Resource properties read from the engine's protobuf Struct as Python values, NaN included.

pulumi_policy turns each request's properties into a dict with protobuf's JSON mapping, which
refuses a number that is NaN or infinite ("Fail to serialize NaN for Value.number_value"). The
engine sends such a number as it is (Struct numbers are doubles), so one `float("nan")` in a
program made every policy of the pack fail at once on that resource, reported as the pack's
crash with the property unnamed. Read as the float it is, the value reaches the policies, and
the one that reads it reports it under its own name (`maximumRetryAttempts is nan; ...`).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2


def struct_to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    return {key: value_to_python(message.fields[key]) for key in message.fields}


def value_to_python(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [value_to_python(item) for item in value.list_value.values]
    if kind in ("number_value", "string_value", "bool_value"):
        return getattr(value, kind)
    return None


class _JsonFormat:
    """protobuf's json_format, except that a Struct becomes its Python value."""

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)

    @staticmethod
    def MessageToDict(message: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (protobuf's name)
        if isinstance(message, struct_pb2.Struct) and not args and not kwargs:
            return struct_to_dict(message)
        return json_format.MessageToDict(message, *args, **kwargs)


def install() -> None:
    """Make the analyzer server read properties with `struct_to_dict`. It reads them through the
    `json_format` name of its module; when that name is gone (a pulumi_policy that reads them
    another way), fail at start rather than guess."""
    from pulumi_policy import policy as server_module

    if not hasattr(server_module, "json_format"):
        raise RuntimeError("pulumi_policy.policy no longer reads properties through json_format: review struct_values")
    if not isinstance(server_module.json_format, _JsonFormat):
        server_module.json_format = _JsonFormat()
