"""What the Glue tables over the archive share: the JSON SerDe as Lambda's records need it,
and partition projection over a function and day key layout."""

from __future__ import annotations

import pulumi_aws as aws

from lambda_failures.archive_format import ASYNC_PREFIX, Column

JSON_SERDE: aws.glue.CatalogTableStorageDescriptorSerDeInfoArgsDict = {
    "serialization_library": "org.openx.data.jsonserde.JsonSerDe",
    # Keys match columns in any case; a malformed object becomes a row of NULLs, not a failed query.
    "parameters": {"case.insensitive": "TRUE", "ignore.malformed.json": "TRUE", "dots.in.keys": "FALSE"},
}
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"


def async_table_parameters(
    bucket: str, function_names: list[str], start: str, prefix: str = ASYNC_PREFIX
) -> dict[str, str]:
    """Partition projection over <prefix><function>/YYYY/MM/DD/ (the raw records under
    aws/lambda/async/, or the compaction claims): no crawler, no MSCK REPAIR."""
    return {
        "classification": "json",
        "projection.enabled": "true",
        "projection.function_name.type": "enum",
        "projection.function_name.values": ",".join(function_names),
        "projection.day.type": "date",
        "projection.day.format": "yyyy/MM/dd",
        "projection.day.range": f"{start},NOW",
        "projection.day.interval": "1",
        "projection.day.interval.unit": "DAYS",
        "storage.location.template": f"s3://{bucket}/{prefix}${{function_name}}/${{day}}/",
    }


def columns_of(columns: tuple[Column, ...]) -> list[aws.glue.CatalogTableStorageDescriptorColumnArgsDict]:
    return [{"name": c.name, "type": c.type} for c in columns]


def partition_keys_of(columns: tuple[Column, ...]) -> list[aws.glue.CatalogTablePartitionKeyArgsDict]:
    return [{"name": c.name, "type": c.type} for c in columns]
