"""Region names checked against botocore's partitions (`botocore/data/partitions.json`), as the
AWS provider would refuse a region it cannot resolve: a typo (`eu-wst-1`) is bad input, not a
plan for a region that does not exist. The partition (and its DNS suffix) follows the region, so
`cn-north-1` plans ARNs in `aws-cn`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache


class RegionError(ValueError):
    """Not a region of any partition botocore knows."""


@dataclass(frozen=True)
class Partition:
    id: str
    dns_suffix: str


@cache
def _regions() -> dict[str, Partition]:
    from botocore.loaders import Loader

    found: dict[str, Partition] = {}
    for entry in Loader().load_data("partitions")["partitions"]:
        partition = Partition(entry["id"], entry.get("outputs", {}).get("dnsSuffix", "amazonaws.com"))
        for region in entry.get("regions", {}):
            if not region.endswith("-global"):  # aws-global and the like sign requests, nothing deploys there
                found[region] = partition
    return found


def partition_of(region: str) -> Partition:
    regions = _regions()
    if region in regions:
        return regions[region]
    close = difflib.get_close_matches(region, list(regions), n=1, cutoff=0.8)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise RegionError(f"{region!r} is not an AWS region (botocore's partitions list none of that name){hint}")
