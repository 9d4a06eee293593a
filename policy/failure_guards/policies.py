"""Every policy of the pack, declared once, in the order the pack runs them.

Each line is what `failctl policies` and docs/policies.md show: the name (written here and
nowhere else), the level a pack config may change, the pack's severity rating, and the check;
a policy nothing may exempt says why (`unexemptable`), so the property follows its name.
The checks live in the modules named for what they guard; `guard.policy` builds each one.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity

from . import async_destinations, bounds, buckets, encryption, exemption_reports, names, resource_account, streams
from .common import BUCKET_TYPES
from .guard import JUDGED_TYPES, UNEXEMPTABLE_REASONS, policy

MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY

POLICIES = [
    policy(
        "s3-write-grants-require-resource-account",
        "Every IAM Allow statement that grants S3 write, list or object read actions must carry "
        "Condition StringEquals s3:ResourceAccount naming the accounts allowed to own the bucket.",
        resource_account.validate,
        MANDATORY,
        Severity.CRITICAL,
        config=resource_account.CONFIG,
        judges=resource_account.GRANT_TYPES,
    ),
    policy(
        "data-grants-name-their-resources",
        "IAM Allow statements that send, receive or delete SQS messages or read or write DynamoDB items "
        'name their queues and tables, never Resource "*".',
        resource_account.validate_data_grants,
        MANDATORY,
        Severity.HIGH,
        judges=resource_account.DATA_GRANT_TYPES,
    ),
    policy(
        "s3-buckets-encrypted-with-customer-kms-key",
        "Every S3 bucket default-encrypts with aws:kms (or aws:kms:dsse) on a customer managed key.",
        encryption.validate_buckets,
        MANDATORY,
        Severity.HIGH,
        stack=True,
        judges=BUCKET_TYPES,
    ),
    policy(
        "sqs-queues-encrypted-with-customer-kms-key",
        "Every SQS queue encrypts with a customer managed KMS key (kmsMasterKeyId).",
        encryption.validate_queue,
        MANDATORY,
        Severity.HIGH,
        judges=(encryption.QUEUE_TYPE,),
    ),
    policy(
        "sns-topics-encrypted-with-customer-kms-key",
        "Every SNS topic encrypts with a customer managed KMS key (kmsMasterKeyId).",
        encryption.validate_topic,
        MANDATORY,
        Severity.HIGH,
        judges=(encryption.TOPIC_TYPE,),
    ),
    policy(
        "dynamodb-tables-encrypted-with-customer-kms-key",
        "Every DynamoDB table enables server-side encryption on a customer managed KMS key.",
        encryption.validate_table,
        MANDATORY,
        Severity.HIGH,
        judges=(encryption.TABLE_TYPE,),
    ),
    policy(
        "athena-workgroup-results-encrypted-with-kms",
        "Athena workgroups encrypt query results with SSE_KMS or CSE_KMS and enforce that configuration.",
        encryption.validate_workgroup,
        MANDATORY,
        Severity.HIGH,
        judges=(encryption.WORKGROUP_TYPE,),
    ),
    policy(
        "kms-keys-rotate",
        "Every symmetric customer managed KMS key has automatic rotation on.",
        encryption.validate_key_rotation,
        MANDATORY,
        Severity.HIGH,
        judges=(encryption.KEY_TYPE,),
    ),
    policy(
        "stream-mapping-retries-bounded",
        "Stream event source mappings set maximumRetryAttempts between 0 and a configured bound.",
        streams.validate_retries,
        MANDATORY,
        Severity.HIGH,
        config=streams.RETRIES_CONFIG,
        judges=(streams.ESM_TYPE,),
    ),
    policy(
        "stream-mapping-record-age-bounded",
        "Stream event source mappings set maximumRecordAgeInSeconds between "
        f"{bounds.STREAM_MIN_RECORD_AGE_SECONDS} and a configured bound.",
        streams.validate_record_age,
        MANDATORY,
        Severity.HIGH,
        config=streams.RECORD_AGE_CONFIG,
        judges=(streams.ESM_TYPE,),
    ),
    policy(
        "stream-mapping-bisects-batches",
        "DynamoDB, Kinesis and provisioned-mode Kafka event source mappings split a failing batch "
        "(bisectBatchOnFunctionError).",
        streams.validate_bisect,
        MANDATORY,
        Severity.HIGH,
        remediate=streams.remediate_bisect,
        judges=(streams.ESM_TYPE,),
    ),
    policy(
        "stream-mapping-has-failure-destination",
        "Stream event source mappings send records that exhaust retries to an on-failure destination.",
        streams.validate_failure_destination,
        MANDATORY,
        Severity.HIGH,
        judges=(streams.ESM_TYPE,),
    ),
    policy(
        "stream-mapping-reports-batch-item-failures",
        "Stream event source mappings use partial batch responses (ReportBatchItemFailures).",
        streams.validate_partial_batch,
        ADVISORY,
        Severity.MEDIUM,
        judges=(streams.ESM_TYPE,),
    ),
    policy(
        "lambda-async-invoke-has-failure-destination",
        "Every FunctionEventInvokeConfig sends failed events to an on-failure destination.",
        async_destinations.validate_failure_destination,
        MANDATORY,
        Severity.HIGH,
        judges=(async_destinations.INVOKE_CONFIG_TYPE,),
    ),
    policy(
        "lambda-async-destinations-not-fifo",
        "Asynchronous invocation destinations are standard queues and topics, never FIFO.",
        async_destinations.validate_no_fifo,
        MANDATORY,
        Severity.HIGH,
        stack=True,
        judges=(async_destinations.INVOKE_CONFIG_TYPE,),
    ),
    policy(
        "lambda-async-functions-keep-failures",
        "Functions invoked asynchronously keep failed events (on-failure destination or DLQ).",
        async_destinations.validate_async_functions_keep_failures,
        ADVISORY,
        Severity.MEDIUM,
        stack=True,
        judges=(async_destinations.FUNCTION_TYPE,),
    ),
    policy(
        "s3-bucket-names-not-claimable",
        "A bucket whose name embeds an account id is created in the account-regional namespace.",
        buckets.validate_claimable_names,
        MANDATORY,
        Severity.HIGH,
        stack=True,
        judges=BUCKET_TYPES,
    ),
    policy(
        "s3-bucket-blocks-public-access",
        "Every S3 bucket has a public access block with all four settings on.",
        buckets.validate_public_access,
        ADVISORY,
        Severity.HIGH,
        stack=True,
        judges=BUCKET_TYPES,
    ),
    policy(
        "s3-bucket-denies-insecure-transport",
        "Every S3 bucket policy denies requests made without TLS (aws:SecureTransport false).",
        buckets.validate_tls_only,
        ADVISORY,
        Severity.MEDIUM,
        stack=True,
        judges=BUCKET_TYPES,
    ),
    policy(
        "failure-archive-protected",
        "Buckets that receive failure records are protected from deletion with their contents.",
        buckets.validate_archive_protected,
        ADVISORY,
        Severity.MEDIUM,
        stack=True,
        judges=BUCKET_TYPES,
    ),
    policy(
        "physical-names-unique",
        "No two resources of one type in the stack take the same physical name.",
        names.validate_unique_names,
        MANDATORY,
        Severity.HIGH,
        stack=True,
        unexemptable="the exemption would only hide a deployment that fails half-way",
    ),
    policy(
        "exemption-tags-valid",
        "Exemption tags name a policy of this pack and read `until YYYY-MM-DD: <reason>` in AWS's tag characters.",
        exemption_reports.validate_tags,
        ADVISORY,
        Severity.LOW,
        unexemptable="it reports the exemptions themselves",
    ),
    # Last of all: it reports what every other policy excused.
    policy(
        "exemptions-in-force",
        "Every exemption in force, per resource: a note for the record, not a verdict.",
        exemption_reports.validate_in_force,
        ADVISORY,
        Severity.LOW,
        stack=True,
        unexemptable="it reports the exemptions themselves",
    ),
]
NAMES = frozenset(p.name for p in POLICIES)
# Policy name -> the resource types it judges (None: every type; such a policy cannot be exempted).
JUDGES = {p.name: JUDGED_TYPES[p.name] for p in POLICIES}
# Policy name -> why nothing may exempt it, for the policies declared so.
UNEXEMPTABLE = {p.name: UNEXEMPTABLE_REASONS[p.name] for p in POLICIES if p.name in UNEXEMPTABLE_REASONS}
