"""What the Glue tables over the archive share: one way to declare an external table over a
prefix, the JSON SerDe as Lambda's records need it (or Parquet, for compacted days), and
partition projection over a function and day key layout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambda_failures.archive_format import ASYNC_PREFIX, DAY_PROJECTION_FORMAT, Column


@dataclass(frozen=True)
class Storage:
    """How a table's objects are read and written."""

    input_format: str
    output_format: str
    ser_de_info: aws.glue.CatalogTableStorageDescriptorSerDeInfoArgsDict


JSON_OBJECTS = Storage(
    "org.apache.hadoop.mapred.TextInputFormat",
    "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    {
        "serialization_library": "org.openx.data.jsonserde.JsonSerDe",
        # Keys match columns in any case; a malformed object becomes a row of NULLs, not a failed query.
        "parameters": {"case.insensitive": "TRUE", "ignore.malformed.json": "TRUE", "dots.in.keys": "FALSE"},
    },
)
PARQUET = Storage(
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    {"serialization_library": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
)


def external_table(
    resource_name: str,
    parent: pulumi.Resource,
    *,
    name: str,
    database_name: pulumi.Input[str],
    description: str,
    location: pulumi.Input[str],
    columns: tuple[Column, ...],
    storage: Storage = JSON_OBJECTS,
    parameters: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
    partitions: tuple[Column, ...] = (),
) -> aws.glue.CatalogTable:
    """A table over the objects under an archive prefix (one JSON object each, unless `storage`
    says otherwise)."""
    return aws.glue.CatalogTable(
        resource_name,
        name=name,
        database_name=database_name,
        table_type="EXTERNAL_TABLE",
        description=description,
        parameters=parameters or {"classification": "json"},
        partition_keys=partition_keys_of(partitions) if partitions else None,
        storage_descriptor={
            "location": location,
            "input_format": storage.input_format,
            "output_format": storage.output_format,
            "ser_de_info": storage.ser_de_info,
            "columns": columns_of(columns),
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


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
        "projection.day.format": DAY_PROJECTION_FORMAT,
        "projection.day.range": f"{start},NOW",
        "projection.day.interval": "1",
        "projection.day.interval.unit": "DAYS",
        "storage.location.template": f"s3://{bucket}/{prefix}${{function_name}}/${{day}}/",
    }


def columns_of(columns: tuple[Column, ...]) -> list[aws.glue.CatalogTableStorageDescriptorColumnArgsDict]:
    return [{"name": c.name, "type": c.type} for c in columns]


def partition_keys_of(columns: tuple[Column, ...]) -> list[aws.glue.CatalogTablePartitionKeyArgsDict]:
    return [{"name": c.name, "type": c.type} for c in columns]
