"""The deployed analytics: Glue tables, workgroup and named queries, read off the synthesized stack."""

import re
from datetime import datetime

from support.pulumi_harness import ACCOUNT, REGION, one

from failctl.archive.local_query import to_duckdb
from failctl.emulation.lambda_writer import async_failure_key, stream_failure_key
from lambda_failures.archive_format import ASYNC_COLUMNS, STREAM_COLUMNS
from lambda_failures.queries import named_queries

TABLE = "aws:glue/catalogTable:CatalogTable"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
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
    expected = {q.name: q.sql for q in named_queries()}
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
