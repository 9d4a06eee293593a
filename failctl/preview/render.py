"""Turn engine-shaped props into what a person (or `--json`) should see."""

from __future__ import annotations

import json
from typing import Any

from pulumi.runtime.rpc import _special_archive_sig, _special_asset_sig, _special_secret_sig, _special_sig_key
from pulumi_policy import proxy

from failctl.preview.synth import Synthesis, SynthResource

# The engine's unknowns of each type, as its gRPC values carry them.
UNKNOWN_SENTINELS = {
    proxy.UNKNOWN_BOOLEAN_VALUE, proxy.UNKNOWN_NUMBER_VALUE, proxy.UNKNOWN_STRING_VALUE, proxy.UNKNOWN_ARRAY_VALUE,
    proxy.UNKNOWN_ASSET_VALUE, proxy.UNKNOWN_ARCHIVE_VALUE, proxy.UNKNOWN_OBJECT_VALUE,
}  # fmt: skip

# The settings a reviewer looks for first, per resource type.
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:s3/bucket:Bucket": ("bucket", "forceDestroy"),
    "aws:kms/key:Key": ("enableKeyRotation", "deletionWindowInDays"),
    "aws:kms/alias:Alias": ("name",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ("rules",),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("rule",),
    "aws:s3/bucketVersioning:BucketVersioning": ("versioningConfiguration",),
    "aws:lambda/function:Function": ("name", "runtime", "reservedConcurrentExecutions"),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": (
        "maximumRetryAttempts",
        "maximumEventAgeInSeconds",
        "destinationConfig",
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": (
        "maximumRetryAttempts",
        "maximumRecordAgeInSeconds",
        "bisectBatchOnFunctionError",
        "functionResponseTypes",
        "destinationConfig",
    ),
    "aws:dynamodb/table:Table": ("name", "streamViewType", "serverSideEncryption"),
    "aws:sqs/queue:Queue": ("name", "kmsMasterKeyId"),
    "aws:sns/topic:Topic": ("name", "kmsMasterKeyId"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
}


def display(value: Any) -> Any:
    """Unknowns as "<unknown>", assets and archives by their file names, secrets hidden."""
    if isinstance(value, str):
        return "<unknown>" if value in UNKNOWN_SENTINELS else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [display(v) for v in value]
    if isinstance(value, dict):
        sig = value.get(_special_sig_key)
        if sig == _special_secret_sig:
            return "<secret>"
        if sig == _special_archive_sig:
            return {"archive": sorted((value.get("assets") or {}).keys())}
        if sig == _special_asset_sig:
            return {"asset": "<file>"}
        return {k: display(v) for k, v in value.items()}
    return value


def resource_json(resource: SynthResource) -> dict[str, Any]:
    return {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "parent": resource.parent,
        "props": display(resource.props),
    }


def synthesis_json(synthesis: Synthesis) -> dict[str, Any]:
    return {
        "resources": [resource_json(r) for r in synthesis.resources],
        "outputs": display(synthesis.outputs),
    }


def _compact(value: Any) -> str:
    text = json.dumps(display(value), separators=(",", ":"))
    return text if len(text) <= 100 else text[:97] + "..."


def tree_lines(synthesis: Synthesis) -> list[str]:
    """The resource tree, children under their component, with key settings."""
    children: dict[str | None, list[SynthResource]] = {}
    urns = {r.urn for r in synthesis.resources}
    for resource in synthesis.resources:
        parent = resource.parent if resource.parent in urns else None
        children.setdefault(parent, []).append(resource)

    lines = [f"Stack {synthesis.project}-{synthesis.stack} (preview, fresh stack)"]

    def walk(parent: str | None, depth: int) -> None:
        for resource in sorted(children.get(parent, []), key=lambda r: (r.custom, r.name)):
            lines.append(f"{'  ' * depth}+ {resource.type}  {resource.name}")
            for key in KEY_SETTINGS.get(resource.type, ()):
                if key in resource.props:
                    lines.append(f"{'  ' * depth}    {key}: {_compact(resource.props[key])}")
            walk(resource.urn, depth + 1)

    walk(None, 1)
    components = sum(1 for r in synthesis.resources if not r.custom)
    lines.append(
        f"{len(synthesis.resources)} resources to create ({len(synthesis.resources) - components} cloud resources, "
        f"{components} components)"
    )
    lines.append("Outputs:")
    for key, value in synthesis.outputs.items():
        lines.append(f"    {key}: {display(value)}")
    return lines
