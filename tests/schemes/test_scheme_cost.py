"""Each scheme's declared cost_per_step against the evaluations one of its steps makes."""

from __future__ import annotations

import pytest
from scheme_helpers import built, config

from ganbench.schemes import REGISTRY as SCHEMES
from ganbench.schemes.base import StepCost

CASES = [
    ("alternating", {}), ("alternating", {"d_steps": 3, "g_steps": 2}),
    ("simultaneous", {}), ("optimistic", {}), ("extragradient", {}),
    ("unrolled", {"k": 3}), ("unrolled", {"k": 2, "d_steps": 2, "g_steps": 2}),
    ("unrolled_first_order", {"k": 3}), ("unrolled", {"k": 0}),
    ("unrolled", {"k": 3, "form": "simultaneous"}), ("consensus", {}),
]


def test_every_scheme_is_covered():
    assert {name for name, _ in CASES} == set(SCHEMES.names())


def counted_step(name: str, params: dict) -> tuple[int, int]:
    """(critic-loss evaluations, generator-loss evaluations) in one step."""
    b = built(config(scheme={"name": name, **params}))
    game, calls = b.game, {"d": 0, "g": 0}
    d_loss, g_loss = game.d_loss, game.g_loss

    def count_d(*a, **kw):
        calls["d"] += 1
        return d_loss(*a, **kw)

    def count_g(*a, **kw):
        calls["g"] += 1
        return g_loss(*a, **kw)

    game.d_loss, game.g_loss = count_d, count_g
    b.scheme.step(game)
    return calls["d"], calls["g"]


@pytest.mark.parametrize("name,params", CASES, ids=[f"{n}{p}" for n, p in CASES])
def test_declared_cost_counts_the_evaluations(name, params):
    scheme = SCHEMES.create(name, **params)
    cost = scheme.cost_per_step()
    assert isinstance(cost, StepCost) and cost.total == cost.critic + cost.generator
    d_calls, g_calls = counted_step(name, params)
    if name == "consensus":  # each loss once, then the double backward of |v|^2 through both
        assert (cost.critic, cost.generator) == (2 * d_calls, 2 * g_calls)
        return
    assert cost.generator == g_calls
    if name == "unrolled":  # a look-ahead update is differentiated through: counted twice
        k, g_steps = scheme.k, scheme.g_steps
        assert cost.critic == d_calls + g_steps * k
    else:
        assert cost.critic == d_calls


def test_extragradient_costs_two_alternating_steps_and_unrolling_grows_with_k():
    cost = {n: SCHEMES.create(n).cost_per_step().total for n in SCHEMES.names()}
    assert cost["extragradient"] == 2 * cost["alternating"] == 2 * cost["simultaneous"]
    k5, k10 = (SCHEMES.create("unrolled", k=k).cost_per_step().critic for k in (5, 10))
    assert k10 - k5 == 2 * 5  # two per look-ahead step (update + its double backward)


def test_cost_estimate_uses_the_schemes_declaration():
    from scheme_helpers import runs

    from ganbench.execute import cost_estimate

    for name, params in CASES:
        r = runs(config(scheme={"name": name, **params}))
        per_pass = r[0].config["training"]["iterations"] * r[0].config["training"]["batch_size"]
        want = SCHEMES.create(name, **params).cost_per_step().total * per_pass
        assert cost_estimate(r * 3) == 3 * want
