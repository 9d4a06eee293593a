"""The async function: its role, invoke config, destinations and concurrency."""

import pytest
from support.pulumi_harness import ACCOUNT, REGION, one, policy_document, statement

FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET_ARN = f"arn:aws:s3:::lambda-failures-test-failures-{ACCOUNT}-{REGION}-an"


def processor_policy(synthesis) -> dict:
    return policy_document(one(synthesis, ROLE_POLICY, "async-function-processor-role-policy"))


def test_invoke_config_sends_failures_to_the_archive(stack):
    config = one(stack, INVOKE_CONFIG, "async-function-invoke-config")
    assert config.props["destinationConfig"]["onFailure"] == {"destination": BUCKET_ARN}, config.urn
    assert config.props["functionName"] == "lambda-failures-test-processor", config.urn


def test_invoke_config_retry_and_age_come_from_config(program):
    config = one(program(maxRetryAttempts=0, maxEventAgeSeconds=120), INVOKE_CONFIG, "async-function-invoke-config")
    assert config.props["maximumRetryAttempts"] == 0.0, config.urn
    assert config.props["maximumEventAgeInSeconds"] == 120.0, config.urn


def test_role_writes_records_only_to_the_archive_owned_by_this_account(stack):
    doc = processor_policy(stack)
    put = statement(doc, "WriteFailureRecords")
    assert put["Action"] == "s3:PutObject"
    # The whole bucket: Lambda's destination check rejects a prefix-scoped grant.
    assert put["Resource"] == f"{BUCKET_ARN}/*"
    assert put["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}
    listing = statement(doc, "ListFailureArchive")
    assert listing["Resource"] == BUCKET_ARN
    assert listing["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}


def test_role_uses_only_the_archive_key_and_only_through_s3(stack):
    kms = statement(processor_policy(stack), "EncryptFailureRecords")
    assert kms["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert kms["Condition"]["ForAnyValue:StringEquals"] == {
        "kms:ResourceAliases": "alias/lambda-failures-test-failure-archive"
    }
    assert kms["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}


def test_role_writes_logs_only_to_its_own_group(stack):
    logs = statement(processor_policy(stack), "WriteOwnLogGroup")
    assert logs["Resource"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/lambda-failures-test-processor:*"
    )
    assert "logs:*" not in str(processor_policy(stack))


def test_no_statement_grants_a_wildcard_action(stack):
    for s in processor_policy(stack)["Statement"]:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        assert not any(a == "*" or a.endswith(":*") for a in actions), s


def test_function_has_tracing_json_logs_and_its_own_log_group(stack):
    function = one(stack, FUNCTION, "async-function-processor-function")
    assert function.props["tracingConfig"] == {"mode": "Active"}, function.urn
    assert function.props["loggingConfig"] == {
        "logFormat": "JSON",
        "logGroup": "/aws/lambda/lambda-failures-test-processor",
    }, function.urn
    group = one(stack, "aws:cloudwatch/logGroup:LogGroup", "async-function-processor-logs")
    assert group.props["retentionInDays"] == 30.0, group.urn


def test_every_function_of_the_stack_traces_with_the_sdk_its_layer_carries(stack):
    """The sample stack's functions trace (Active) and their handlers' Tracer runs: the
    Powertools layer, built with Powertools' extras, is where the X-Ray SDK comes from."""
    functions = stack.of_type(FUNCTION)
    assert len(functions) >= 4
    for function in functions:
        assert function.props["tracingConfig"] == {"mode": "Active"}, function.urn
        assert function.props["environment"]["variables"]["POWERTOOLS_TRACE_DISABLED"] == "false", function.urn
        assert any(":layer:AWSLambdaPowertoolsPythonV3-" in layer for layer in function.props["layers"]), function.urn


def test_function_runs_powertools_from_the_regional_layer(stack):
    function = one(stack, FUNCTION, "async-function-processor-function")
    assert function.props["layers"] == [
        f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:27"
    ], function.urn


def test_reserved_concurrency_zero_is_passed_through(program):
    function = one(program(reservedConcurrency=0), FUNCTION, "async-function-processor-function")
    assert function.props["reservedConcurrentExecutions"] == 0.0, function.urn


def test_no_reserved_concurrency_by_default(stack):
    function = one(stack, FUNCTION, "async-function-processor-function")
    assert "reservedConcurrentExecutions" not in function.props, function.urn


PREFIX = f"{REGION}:{ACCOUNT}"
DESTINATIONS = [
    ("sqs", "aws:sqs/queue:Queue", f"arn:aws:sqs:{PREFIX}:lambda-failures-test-success", "sqs:SendMessage"),
    ("sns", "aws:sns/topic:Topic", f"arn:aws:sns:{PREFIX}:lambda-failures-test-success", "sns:Publish"),
    (
        "eventbridge",
        "aws:cloudwatch/eventBus:EventBus",
        f"arn:aws:events:{PREFIX}:event-bus/lambda-failures-test-success",
        "events:PutEvents",
    ),
    ("lambda", FUNCTION, f"arn:aws:lambda:{PREFIX}:function:lambda-failures-test-receiver", "lambda:InvokeFunction"),
]


@pytest.mark.parametrize(("kind", "type_", "arn", "action"), DESTINATIONS)
def test_success_destination_is_created_and_granted(program, kind, type_, arn, action):
    synthesis = program(successDestination=kind)
    config = one(synthesis, INVOKE_CONFIG, "async-function-invoke-config")
    assert config.props["destinationConfig"]["onSuccess"] == {"destination": arn}, config.urn
    assert one(synthesis, type_, "success" if kind != "lambda" else "receiver-function")
    grants = [s for s in processor_policy(synthesis)["Statement"] if s["Resource"] == arn]
    assert [g["Action"] for g in grants] == [action]
    assert synthesis.outputs["SuccessDestinationArn"] == arn


@pytest.mark.parametrize("kind", ["sqs", "sns"])
def test_success_queue_and_topic_are_encrypted_with_a_customer_key(program, kind):
    synthesis = program(successDestination=kind)
    type_ = "aws:sqs/queue:Queue" if kind == "sqs" else "aws:sns/topic:Topic"
    target = one(synthesis, type_, "success")
    assert target.props["kmsMasterKeyId"], target.urn
    key_grant = statement(processor_policy(synthesis), "EncryptDestinationMessages")
    assert key_grant["Condition"]["ForAnyValue:StringEquals"] == {
        "kms:ResourceAliases": "alias/lambda-failures-test-destinations"
    }


def test_no_success_destination_by_default(stack):
    config = one(stack, INVOKE_CONFIG, "async-function-invoke-config")
    assert "onSuccess" not in config.props["destinationConfig"], config.urn
    assert "SuccessDestinationArn" not in stack.outputs


def test_dead_letter_queue_is_optional_and_granted(program):
    synthesis = program(deadLetterQueue=True)
    dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:lambda-failures-test-dlq"
    function = one(synthesis, FUNCTION, "async-function-processor-function")
    assert function.props["deadLetterConfig"] == {"targetArn": dlq_arn}, function.urn
    assert statement(processor_policy(synthesis), "SendToDeadLetterQueue")["Resource"] == dlq_arn


def test_outputs_use_the_reference_names(stack):
    assert stack.outputs["LambdaFunctionName"] == "lambda-failures-test-processor"
    assert stack.outputs["LambdaFunctionArn"] == (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:lambda-failures-test-processor"
    )
    assert stack.outputs["FailedEventsBucketName"] == f"lambda-failures-test-failures-{ACCOUNT}-{REGION}-an"
    assert stack.outputs["FailedEventsBucketArn"] == BUCKET_ARN
    assert "FailureKeyArn" in stack.outputs


def test_children_are_parented_to_their_component(stack):
    by_urn = {r.urn: r for r in stack.resources}
    function = one(stack, FUNCTION, "async-function-processor-function")
    wrapper = by_urn[function.parent]
    assert (wrapper.type, wrapper.name) == ("lambda-failures:index:LambdaFunction", "async-function-processor")
    component = by_urn[wrapper.parent]
    assert (component.type, component.name) == ("lambda-failures:index:AsyncFunction", "async-function")
