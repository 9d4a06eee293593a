"""One Lambda function with its own log group and a least-privilege execution role.

Every function in the stack is built here, so each gets the same baseline: JSON logs to a
log group with retention, X-Ray tracing, Powertools from the AWS-published layer, and a
role that can write only to its own log group plus the statements its caller adds.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from lambda_failures.components import iam_documents as docs
from lambda_failures.components.naming import AwsContext, function_arn, log_group_arn, resource_name
from lambda_failures.components.settings import PROJECT

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding lambda_failures/
RUNTIME = "python3.13"
POWERTOOLS_ACCOUNT = "017000801446"


def powertools_layer_arn(aws_ctx: AwsContext, version: int) -> str:
    """The Powertools for AWS Lambda (Python) v3 layer that AWS publishes in each region."""
    runtime_tag = RUNTIME.replace(".", "")
    return (
        f"arn:{aws_ctx.partition}:lambda:{aws_ctx.region}:{POWERTOOLS_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{runtime_tag}-x86_64:{version}"
    )


def package_files(handler_module: str) -> list[str]:
    """The project's files a handler needs: its module, the project modules it imports (found
    in its import statements, transitively), and their packages' __init__.py. What the
    handler imports is the one declaration; Powertools and boto3 come from the runtime."""
    root = handler_module.split(".")[0]
    found: set[str] = set()
    pending = [handler_module]
    while pending:
        module = pending.pop()
        if module in found:
            continue
        found.add(module)
        path = _module_path(module)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            pending += [n for n in names if n.split(".")[0] == root and _is_module(n)]
    packages = {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 1)}
    return sorted(str(_module_path(m).relative_to(PACKAGE_ROOT)) for m in found | packages)


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


@dataclass
class LambdaFunctionArgs:
    aws: AwsContext
    function_name: str
    handler_module: str  # e.g. lambda_failures.handlers.async_function, whose `handler` Lambda calls
    statements: list[docs.Statement] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    log_retention_days: int = 30
    powertools_layer_version: int = 27
    memory_mb: int = 256
    timeout_seconds: int = 30
    reserved_concurrency: int | None = None
    dead_letter_target_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class LambdaFunction(pulumi.ComponentResource):
    function_name: str
    function_arn: str
    role_name: str

    def __init__(self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{PROJECT}:index:LambdaFunction", name, None, opts)
        self.function_name = args.function_name
        self.function_arn = function_arn(args.function_name, args.aws)
        self.role_name = resource_name(args.function_name, "role")
        log_group_name = f"/aws/lambda/{args.function_name}"

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name,
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=self.role_name,
            assume_role_policy=json.dumps(docs.assume_role("lambda.amazonaws.com")),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        statements = [
            docs.write_own_logs(log_group_arn(log_group_name, args.aws)),
            docs.put_traces(),
            *args.statements,
        ]
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.name,
            name=f"{args.function_name}-least-privilege",
            policy=pulumi.Output.json_dumps(docs.document(*statements)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=args.function_name,
            runtime=RUNTIME,
            handler=f"{args.handler_module}.handler",
            code=handler_code(args.handler_module),
            role=self.role.arn,
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            architectures=["x86_64"],
            layers=[powertools_layer_arn(args.aws, args.powertools_layer_version)],
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "JSON", "log_group": log_group_name},
            reserved_concurrent_executions=args.reserved_concurrency,
            dead_letter_config=({"target_arn": args.dead_letter_target_arn} if args.dead_letter_target_arn else None),
            environment={
                "variables": {
                    "POWERTOOLS_SERVICE_NAME": args.function_name,
                    "POWERTOOLS_METRICS_NAMESPACE": PROJECT,
                    **args.environment,
                }
            },
            tags=args.tags,
            # The log group must exist first, or Lambda creates one without retention; the
            # role policy first, or the first invocations run without their grants.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.log_group, self.role_policy, *args.depends_on],
            ),
        )
        self.register_outputs({"functionName": args.function_name, "functionArn": self.function_arn})
