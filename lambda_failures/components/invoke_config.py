"""The asynchronous invocation config every captured function shares, built or retrofitted.

One owner for how an async function fails into the archive: bounded retries and event age,
the archive as the on-failure destination, an optional success destination, and the order
Lambda needs (it checks the role's access to the destinations when the config is written).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def invoke_config(
    name: str,
    function_name: pulumi.Input[str],
    max_retry_attempts: int,
    max_event_age_seconds: int,
    on_failure: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
    on_success: pulumi.Input[str] | None = None,
    qualifier: str | None = None,
    import_id: str | None = None,
) -> aws.lambda_.FunctionEventInvokeConfig:
    """`import_id` adopts a config another tool wrote (`<function>[:<qualifier>]`): the preview
    then shows how ours differs from it, instead of the create silently replacing it."""
    destination_config: aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgsDict = {
        "on_failure": {"destination": on_failure}
    }
    if on_success:
        destination_config["on_success"] = {"destination": on_success}
    return aws.lambda_.FunctionEventInvokeConfig(
        name,
        function_name=function_name,
        qualifier=qualifier,
        maximum_retry_attempts=max_retry_attempts,
        maximum_event_age_in_seconds=max_event_age_seconds,
        destination_config=destination_config,
        # Lambda checks the role's grants on the destinations when the config is written.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on, import_=import_id),
    )
