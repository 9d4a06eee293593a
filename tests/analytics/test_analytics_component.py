"""The deployed analytics: Glue tables, workgroup and named queries, read off the synthesized stack."""

import re
from datetime import datetime

from pulumi.runtime.rpc import UNKNOWN
from support.owners import reexecuted
from support.pulumi_harness import ACCOUNT, REGION, one

from failctl.archive.local_query import to_duckdb
from failctl.emulation.lambda_writer import async_failure_key, stream_failure_key
from lambda_failures.archive_format import ASYNC_COLUMNS, DAY_FORMAT, DAY_PROJECTION_FORMAT, STREAM_COLUMNS
from lambda_failures.queries import named_queries

TABLE = "aws:glue/catalogTable:CatalogTable"
ARCHIVE = f"lambda-failures-test-failures-{ACCOUNT}-{REGION}-an"


def test_async_table_projects_function_and_day_over_the_key_layout(stack):
    table = one(stack, TABLE, "analytics-async-table")
    params = table.props["parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.function_name.values"] == "lambda-failures-test-processor"
    assert (params["projection.day.type"], params["projection.day.format"]) == ("date", "yyyy/MM/dd")
    template = params["storage.location.template"]
    assert template == f"s3://{ARCHIVE}/aws/lambda/async/${{function_name}}/${{day}}/"
    # The template, filled in, is the prefix of the key Lambda writes.
    key = async_failure_key("lambda-failures-test-processor", datetime(2026, 11, 18, 9, 30))
    filled = template.replace("${function_name}", "lambda-failures-test-processor").replace("${day}", "2026/11/18")
    assert f"s3://{ARCHIVE}/{key}".startswith(filled)
    assert [p["name"] for p in table.props["partitionKeys"]] == ["function_name", "day"]


def test_the_projected_day_is_the_day_in_the_key():
    """Athena reads the projection's pattern as Java's DateTimeFormatter does: yyyy, MM and dd
    are the year, month and day of month, each as many digits as the key's folders hold."""
    java = {"yyyy": "%Y", "MM": "%m", "dd": "%d"}
    translated = re.sub("yyyy|MM|dd", lambda token: java[token.group(0)], DAY_PROJECTION_FORMAT)
    assert translated == DAY_FORMAT


def test_the_day_read_back_from_a_key_is_the_day_format_the_key_was_written_in():
    """DAY_FORMAT alone says how a key names its day: the stores read a key's day back by it."""
    layout = reexecuted("lambda_failures.archive_format", DAY_FORMAT="%Y-%m-%d")
    key = layout.async_failure_key("orders", datetime(2026, 11, 29, 9, 30))
    assert layout.key_day(key[len(layout.ASYNC_PREFIX) + len("orders") :]) == "2026-11-29"


def test_athena_projects_the_day_in_the_format_the_keys_write():
    """The projection's Java pattern is DAY_FORMAT translated, not a second statement of it."""
    assert reexecuted("lambda_failures.archive_format", DAY_FORMAT="%d.%m.%Y").DAY_PROJECTION_FORMAT == "dd.MM.yyyy"


def test_async_table_uses_the_json_serde_case_insensitive_with_the_shared_columns(stack):
    descriptor = one(stack, TABLE, "analytics-async-table").props["storageDescriptor"]
    serde = descriptor["serDeInfo"]
    assert serde["serializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert serde["parameters"]["case.insensitive"] == "TRUE"
    assert descriptor["columns"] == [{"name": c.name, "type": c.type} for c in ASYNC_COLUMNS]
    types = {c["name"]: c["type"] for c in descriptor["columns"]}
    assert types["requestpayload"] == "string" and types["responsepayload"] == "string"


def test_stream_table_covers_stream_failure_records_of_the_mapping(stack):
    descriptor = one(stack, TABLE, "analytics-stream-table").props["storageDescriptor"]
    assert descriptor["columns"] == [{"name": c.name, "type": c.type} for c in STREAM_COLUMNS]
    # aws/lambda/<esm-uuid>/: the UUID is assigned by AWS, so the location is known at deploy time.
    assert descriptor["location"] == UNKNOWN
    assert stream_failure_key("uuid-1", "shardId-1", datetime(2026, 11, 18)).startswith("aws/lambda/uuid-1/shardId-1/")


def test_workgroup_enforces_kms_results_cutoff_and_metrics(program):
    workgroup = one(program(athenaBytesScannedCutoff=50_000_000), "aws:athena/workgroup:Workgroup")
    config = workgroup.props["configuration"]
    assert config["enforceWorkgroupConfiguration"] is True, workgroup.urn
    assert config["publishCloudwatchMetricsEnabled"] is True, workgroup.urn
    assert config["bytesScannedCutoffPerQuery"] == 50_000_000.0, workgroup.urn
    result = config["resultConfiguration"]
    assert result["encryptionConfiguration"]["encryptionOption"] == "SSE_KMS", workgroup.urn
    assert result["outputLocation"] == f"s3://lambda-failures-test-athena-results-{ACCOUNT}-{REGION}-an/results/"
    assert result["expectedBucketOwner"] == ACCOUNT


def test_results_bucket_is_private_encrypted_and_expires(stack):
    sse = one(
        stack,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "analytics-results-encryption",
    )
    assert sse.props["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    lifecycle = one(
        stack, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "analytics-results-lifecycle"
    )
    assert lifecycle.props["rules"][0]["expiration"] == {"days": 30.0}
    pab = one(stack, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "analytics-results-public-access-block")
    assert all(
        pab.props[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )


def test_named_queries_are_exactly_the_sql_the_local_engine_runs(stack):
    deployed = {q.props["name"]: q.props["query"] for q in stack.of_type("aws:athena/namedQuery:NamedQuery")}
    # Over the view of compacted plus raw days; locally the same text reads failed_events.
    expected = {q.name: q.sql for q in named_queries("failed_events_all_days")}
    assert deployed == expected
    for sql in deployed.values():
        assert to_duckdb(sql)  # every deployed query translates
        assert len(re.findall(r"\?", sql)) == 2


def test_outputs_use_the_reference_names(stack):
    assert stack.outputs["GlueDatabaseName"] == "lambda_failures_test"
    assert stack.outputs["GlueTableName"] == "failed_events"
    assert stack.outputs["AthenaWorkgroupName"] == "lambda-failures-test-failures"
    assert stack.outputs["AthenaResultsBucketName"] == f"lambda-failures-test-athena-results-{ACCOUNT}-{REGION}-an"


def test_analytics_can_be_left_out(program):
    synthesis = program(analytics=False)
    assert synthesis.of_type(TABLE) == [] and "GlueDatabaseName" not in synthesis.outputs


def test_compaction_writes_parquet_into_the_encrypted_archive_and_runs_daily(stack):
    compacted = one(stack, TABLE, "analytics-compaction-compacted-table").props
    assert compacted["storageDescriptor"]["location"] == f"s3://{ARCHIVE}/compacted/athena/failed_events/"
    assert compacted["storageDescriptor"]["serDeInfo"]["serializationLibrary"].endswith("ParquetHiveSerDe")
    assert compacted["parameters"]["parquet.compression"] == "ZSTD"
    assert [p["name"] for p in compacted["partitionKeys"]] == ["function_name", "day"]
    sse = one(
        stack,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "failure-archive-encryption",
    )
    assert sse.props["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    view = one(stack, TABLE, "analytics-compaction-view").props
    assert view["tableType"] == "VIRTUAL_VIEW" and view["viewOriginalText"].startswith("/* Presto View: ")
    schedule = one(stack, "aws:scheduler/schedule:Schedule").props
    assert schedule["scheduleExpression"] == "cron(30 3 * * ? *)" and schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    alarms = {a.props["name"] for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert {"lambda-failures-test-compaction-errors", "lambda-failures-test-compaction-days-not-compacted"} <= alarms


def test_the_pack_judges_the_compaction_grants(stack):
    import copy
    import json

    from failctl.preview import gate

    pack = gate.load_pack("policy")
    for sid in ("WriteCompactedDays", "WriteQueryResults", "ClaimCompactions"):
        resources = copy.deepcopy(stack.resources)
        policy = next(r for r in resources if r.name == "analytics-compaction-function-role-policy")
        document = json.loads(policy.props["policy"])
        for statement in document["Statement"]:
            if statement.get("Sid") == sid:
                del statement["Condition"]
        policy.props["policy"] = json.dumps(document)
        result = gate.evaluate(pack, resources)
        assert [(v.policy, v.level) for v in result.violations] == [
            ("s3-write-grants-require-resource-account", "mandatory")
        ], sid


def test_compaction_can_be_left_out_and_the_named_queries_then_read_the_raw_table(program):
    synthesis = program(compaction=False)
    assert not synthesis.of_type("aws:scheduler/schedule:Schedule")
    queries = [q.props["query"] for q in synthesis.of_type("aws:athena/namedQuery:NamedQuery")]
    assert queries and all("failed_events_all_days" not in q for q in queries)
