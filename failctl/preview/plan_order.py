"""One order for a plan, the same on every run.

The program registers its resources from asyncio tasks, so the order they arrive in changes
from run to run with nothing changed, and so would every report listing them: a CI job that
diffs two previews' JSON would see churn where there is none. The engine's own promise is
only that a resource comes after its parent and after what it depends on; this order keeps
that promise and breaks every tie by URN, and lists each property's dependencies sorted.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # synth imports this module to order what it returns
    from failctl.preview.synth import SynthResource


def plan_order(resources: Iterable[SynthResource]) -> list[SynthResource]:
    """Parents and dependencies first, ties by URN; anything in a cycle (which the engine would
    refuse) keeps its place after the rest rather than being dropped."""
    by_urn = {r.urn: r for r in resources}
    before: dict[str, set[str]] = {}
    for resource in by_urn.values():
        needs = {urn for urns in resource.dependencies.values() for urn in urns}
        needs |= {resource.parent} if resource.parent else set()
        before[resource.urn] = {urn for urn in needs if urn in by_urn and urn != resource.urn}
    after: dict[str, list[str]] = {urn: [] for urn in by_urn}
    for urn, needs in before.items():
        for need in needs:
            after[need].append(urn)
    waiting = {urn: len(needs) for urn, needs in before.items()}
    ready = [urn for urn, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[str] = []
    while ready:
        urn = heapq.heappop(ready)
        ordered.append(urn)
        for follower in after[urn]:
            waiting[follower] -= 1
            if waiting[follower] == 0:
                heapq.heappush(ready, follower)
    placed = set(ordered)
    ordered += sorted(urn for urn in by_urn if urn not in placed)
    return [_sorted_dependencies(by_urn[urn]) for urn in ordered]


def _sorted_dependencies(resource: SynthResource) -> SynthResource:
    dependencies = {key: sorted(urns) for key, urns in sorted(resource.dependencies.items())}
    return dataclasses.replace(resource, dependencies=dependencies)
