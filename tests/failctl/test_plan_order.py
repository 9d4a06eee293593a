"""The plan comes out in one order whatever order the program registered it in, and that
order keeps the engine's promise: parents and dependencies before what needs them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from failctl.preview.plan_order import plan_order
from failctl.preview.synth import SynthResource


def resource(index: int, parent: int | None, needs: list[int]) -> SynthResource:
    urn = f"urn:pulumi:dev::demo::aws:s3/bucket:Bucket::r{index:03d}"
    parent_urn = f"urn:pulumi:dev::demo::aws:s3/bucket:Bucket::r{parent:03d}" if parent is not None else None
    dependencies = {"bucket": [f"urn:pulumi:dev::demo::aws:s3/bucket:Bucket::r{n:03d}" for n in needs]}
    return SynthResource(urn, "aws:s3/bucket:Bucket", f"r{index:03d}", parent_urn, True, {}, False, dependencies)


@st.composite
def plans(draw: st.DrawFn) -> list[SynthResource]:
    """A plan as a program could register it: each resource needs only ones registered before it."""
    count = draw(st.integers(1, 25))
    built = []
    for index in range(count):
        earlier = st.integers(0, index - 1) if index else st.nothing()
        parent = draw(st.none() | earlier) if index else None
        needs = draw(st.lists(earlier, max_size=3)) if index else []
        built.append(resource(index, parent, needs))
    return built


@given(plans(), st.randoms())
def test_any_registration_order_gives_one_plan_order(plan, rng):
    shuffled = list(plan)
    rng.shuffle(shuffled)
    assert plan_order(shuffled) == plan_order(plan)


@given(plans())
def test_parents_and_dependencies_come_first(plan):
    ordered = plan_order(plan)
    position = {r.urn: i for i, r in enumerate(ordered)}
    assert sorted(position) == sorted(r.urn for r in plan)
    for r in ordered:
        assert r.parent is None or position[r.parent] < position[r.urn]
        for urns in r.dependencies.values():
            assert urns == sorted(urns)
            assert all(position[u] < position[r.urn] for u in urns if u != r.urn)


def test_a_cycle_the_engine_would_refuse_loses_nothing():
    a, b = resource(1, None, [2]), resource(2, None, [1])
    assert [r.urn for r in plan_order([b, a])] == [a.urn, b.urn]
