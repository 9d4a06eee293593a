"""One Lambda function with its own log group and a least-privilege execution role.

Every function is built here, the caller's and this project's alike, so each gets the same
baseline: JSON logs to a log group with retention, X-Ray tracing, and a role that can write only
to its own log group plus the component's grants and the ones the caller adds (which the policy
pack judges). Powertools comes from the AWS-published layer when asked for.
"""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws

from lambda_failures.components import iam_documents as docs
from lambda_failures.components.function_spec import FunctionSpec, Tracing, check_placement
from lambda_failures.components.naming import AwsContext, function_arn, log_group_arn, resource_name
from lambda_failures.components.runtimes import DEFAULT_RUNTIME, powertools_layer_arn
from lambda_failures.components.settings import PROJECT

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding lambda_failures/
# The AWS managed policy that lets Lambda create, describe and delete the network interfaces a
# function in a VPC needs (Lambda Developer Guide, "Giving Lambda functions access to a VPC"):
# EC2 actions only, which the policy pack knows to grant no S3 action.
VPC_ACCESS_POLICY = "iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
# This project's handlers: the code project_function deploys.
HANDLERS_PACKAGE = "lambda_failures.handlers"


@functools.cache
def package_files(handler_module: str) -> tuple[str, ...]:
    """The project's files a handler needs: its module, the project modules it imports (found
    in its import statements, transitively), and their packages' __init__.py. What the
    handler imports is the one declaration; Powertools and boto3 come from the runtime.
    Found once per handler in a run (the files do not change while the program runs), however
    many functions run it."""
    found: set[str] = set()
    pending = [handler_module]
    while pending:
        module = pending.pop()
        if module not in found:
            found.add(module)
            pending += _project_imports(module)
    packages = {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 1)}
    return tuple(sorted(str(_module_path(m).relative_to(PACKAGE_ROOT)) for m in found | packages))


@functools.cache
def _project_imports(module: str) -> tuple[str, ...]:
    """The modules of the same top package that `module` imports (each source parsed once a run)."""
    root = module.split(".")[0]
    path = _module_path(module)
    imported: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        imported += [n for n in names if n.split(".")[0] == root and _is_module(n)]
    return tuple(imported)


def _module_path(module: str) -> Path:
    base = PACKAGE_ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _is_module(module: str) -> bool:
    return _module_path(module).exists()


def handler_code(handler_module: str) -> pulumi.AssetArchive:
    """Only what a function runs is packaged, laid out as the package it is imported from."""
    return pulumi.AssetArchive(
        {name: pulumi.FileAsset(str(PACKAGE_ROOT / name)) for name in package_files(handler_module)}
    )


def runs_project_handler(handler: str | None) -> bool:
    """Whether Lambda's handler is one of this project's (`project_function`), which trace
    through handlers/tracing.py."""
    return handler is not None and handler.startswith(f"{HANDLERS_PACKAGE}.")


def project_function(handler_module: str) -> dict[str, Any]:
    """One of this project's own handlers as a FunctionSpec's code: the sample functions and the
    failure processor are deployed through the same path as a caller's code."""
    return {
        "code": handler_code(handler_module),
        "handler": f"{handler_module}.handler",
        "runtime": DEFAULT_RUNTIME,
        "powertools": True,
    }


@dataclass(kw_only=True)
class LambdaFunctionArgs(FunctionSpec):
    aws: AwsContext
    function_name: str
    statements: list[docs.Statement] = field(default_factory=list)  # the component's own grants
    dead_letter_target_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class FunctionOwner(Protocol):
    """What a component's args give every function it builds."""

    aws: AwsContext
    tags: dict[str, str]
    log_retention_days: int
    powertools_layer_version: int


def component_function(
    name: str, parent: pulumi.Resource, owner: FunctionOwner, spec: Mapping[str, Any], **args: Any
) -> LambdaFunction:
    """A function a component builds as its child, the caller's (`spec_of(args)`) or one of this
    project's handlers (`project_function`), deployed where the component deploys, with its tags,
    log retention and Powertools layer version."""
    return LambdaFunction(
        name,
        LambdaFunctionArgs(
            **{
                **spec,
                "log_retention_days": owner.log_retention_days,
                "powertools_layer_version": owner.powertools_layer_version,
            },
            aws=owner.aws,
            tags=owner.tags,
            **args,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


class LambdaFunction(pulumi.ComponentResource):
    function_name: str
    function_arn: str
    role_name: str

    def __init__(self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:LambdaFunction", name, None, opts)
        check_placement(args, args.aws.partition, args.aws.region)
        layers = [*args.layers, *self._powertools(args)]
        self.function_name = args.function_name
        self.function_arn = function_arn(args.function_name, args.aws)
        self.role_name = resource_name(args.function_name, "role")
        log_group_name = f"/aws/lambda/{args.function_name}"

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name,
            retention_in_days=args.log_retention_days,
            tags=args.tags or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=self.role_name,
            assume_role_policy=json.dumps(docs.assume_role("lambda.amazonaws.com")),
            tags=args.tags or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        statements = [
            docs.write_own_logs(log_group_arn(log_group_name, args.aws)),
            docs.put_traces(),
            *args.statements,
            *(dict(s) for s in args.role_statements),
        ]
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.name,
            name=f"{args.function_name}-least-privilege",
            policy=pulumi.Output.json_dumps(docs.document(*statements)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.attachments = self._attachments(name, args)
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=args.function_name,
            role=self.role.arn,
            **self._code(args),
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            ephemeral_storage={"size": args.ephemeral_storage_mb},
            architectures=list(args.architectures),
            layers=layers or None,
            tracing_config={"mode": str(args.tracing)},
            logging_config={"log_format": "JSON", "log_group": log_group_name},
            reserved_concurrent_executions=args.reserved_concurrency,
            dead_letter_config=({"target_arn": args.dead_letter_target_arn} if args.dead_letter_target_arn else None),
            vpc_config=(
                {"subnet_ids": list(args.vpc.subnet_ids), "security_group_ids": list(args.vpc.security_group_ids)}
                if args.vpc
                else None
            ),
            environment={"variables": self._environment(args)},
            tags=args.tags or None,
            # The log group must exist first, or Lambda creates one without retention; the
            # role's grants first, or the first invocations run without them.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.log_group, self.role_policy, *self.attachments, *args.depends_on],
            ),
        )
        self.register_outputs({"functionName": args.function_name, "functionArn": self.function_arn})

    @staticmethod
    def _code(args: LambdaFunctionArgs) -> dict[str, Any]:
        if args.image_uri is not None:
            return {"package_type": "Image", "image_uri": args.image_uri}
        return {"package_type": "Zip", "code": args.code, "handler": args.handler, "runtime": args.runtime}

    @staticmethod
    def _powertools(args: LambdaFunctionArgs) -> list[str]:
        """The AWS-published layer, only when asked (check_placement: only where it is published)."""
        if not args.powertools or args.runtime is None:  # check_placement refuses Powertools without a runtime
            return []
        return [
            powertools_layer_arn(
                args.aws.partition, args.aws.region, args.runtime, args.architectures[0], args.powertools_layer_version
            )
        ]

    @staticmethod
    def _environment(args: LambdaFunctionArgs) -> pulumi.Input[dict[str, pulumi.Input[str]]]:
        """The caller's variables as given (a secret value stays secret in state), over
        Powertools' defaults. Where Lambda runs one of this project's handlers, its Tracer is
        built only in an Active function (handlers/tracing.py), so a PassThrough one never loads
        the X-Ray SDK; a caller may still turn the Tracer off on an Active function with
        POWERTOOLS_TRACE_DISABLED=true. The caller's own code keeps Powertools' default: in a
        PassThrough function Lambda still traces a request an upstream service sampled, and a
        disabled Tracer switches the X-Ray SDK off for the whole process."""
        defaults: dict[str, pulumi.Input[str]] = (
            {"POWERTOOLS_SERVICE_NAME": args.function_name, "POWERTOOLS_METRICS_NAMESPACE": PROJECT}
            if args.powertools
            else {}
        )
        if args.powertools and runs_project_handler(args.handler):
            defaults["POWERTOOLS_TRACE_DISABLED"] = "false" if str(args.tracing) == Tracing.ACTIVE else "true"
        if isinstance(args.environment, pulumi.Output):
            return args.environment.apply(lambda given: {**defaults, **(given or {})})
        if not isinstance(args.environment, Mapping):
            raise TypeError("environment must be a mapping or an output of one")
        return {**defaults, **args.environment}

    def _attachments(self, name: str, args: LambdaFunctionArgs) -> list[aws.iam.RolePolicyAttachment]:
        arns = list(args.managed_policy_arns)
        if args.vpc is not None:
            arns.append(f"arn:{args.aws.partition}:{VPC_ACCESS_POLICY}")
        return [
            aws.iam.RolePolicyAttachment(
                f"{name}-policy-{index}",
                role=self.role.name,
                policy_arn=arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for index, arn in enumerate(dict.fromkeys(arns))
        ]
