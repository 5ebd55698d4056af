"""Every registered objective against the divergence it claims, on discrete P and Q.

Expectations are exact: P and Q put mass k/K on a few support points, and the critic's
batch is every (real, fake) pair of a K-sample real list (each point repeated in
proportion to its mass) and a K-sample fake list. A batch mean over it is then the exact
expectation for every objective, paired (RSGAN) and batch-averaged (RaGAN) ones included,
and it goes through the public ``d_loss``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize, minimize_scalar
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy, wasserstein_distance

from ganbench import objectives
from ganbench.objectives import (
    REGISTRY,
    Objective,
    fgan,
    ipm,
    least_squares,
    relativistic,
    standard,
)
from ganbench.objectives.fgan import FGAN

K = 20
PAIRS = {  # name -> (counts of P, counts of Q), each summing to K, full support
    "skewed": ([5, 8, 4, 3], [2, 3, 10, 5]),
    "close": ([6, 4, 5, 5], [5, 5, 5, 5]),
    "equal": ([7, 2, 9, 2], [7, 2, 9, 2]),
}
NAMES = REGISTRY.names()


def probs(counts) -> torch.Tensor:
    return torch.tensor(counts, dtype=torch.float64) / K


def all_pairs(c: torch.Tensor, pc, qc) -> tuple[torch.Tensor, torch.Tensor]:
    """Critic outputs c [..., n] at the support points -> (real, fake) batches [..., K*K]
    holding every pair of a K-sample real list and a K-sample fake list once."""
    r = c.repeat_interleave(torch.tensor(pc), dim=-1)
    f = c.repeat_interleave(torch.tensor(qc), dim=-1)
    return r.repeat_interleave(K, dim=-1), f.repeat(*([1] * (c.ndim - 1)), K)


def value(obj, c: torch.Tensor, pc, qc) -> torch.Tensor | float:
    """-d_loss as an exact expectation over P x Q (one per row of c)."""
    v = -obj.d_loss(*all_pairs(c, pc, qc)).detach()
    return float(v) if v.ndim == 0 else v


def jsd(p, q) -> float:
    return float(jensenshannon(p, q)) ** 2  # scipy returns its square root, in nats


def maximise_public_value(obj, pc, qc) -> float:
    """sup of -d_loss over critics on the support, by BFGS on the public loss."""
    n = len(pc)

    def neg(x):
        c = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        loss = obj.d_loss(*all_pairs(c, pc, qc))
        (g,) = torch.autograd.grad(loss, c)
        return float(loss.detach()), g.numpy()

    res = minimize(neg, np.zeros(n), jac=True, method="BFGS", options={"gtol": 1e-11})
    return -float(res.fun)


# Independent formulas for what each objective class claims -d_loss reaches at the optimum.
INDEPENDENT = {
    standard.Minimax: lambda p, q: 2 * jsd(p, q) - math.log(4),
    standard.NonSaturating: lambda p, q: 2 * jsd(p, q) - math.log(4),
    fgan.KL: lambda p, q: float(entropy(p, q)),
    fgan.ReverseKL: lambda p, q: float(entropy(q, p)),
    fgan.Jeffrey: lambda p, q: float(entropy(p, q) + entropy(q, p)),
    fgan.Pearson: lambda p, q: float(((p - q) ** 2 / q).sum()),
    fgan.Neyman: lambda p, q: float(((p - q) ** 2 / p).sum()),
    fgan.Hellinger: lambda p, q: float(((np.sqrt(p) - np.sqrt(q)) ** 2).sum()),
    fgan.JensenShannon: lambda p, q: 2 * jsd(p, q),
    fgan.GANDivergence: lambda p, q: 2 * jsd(p, q) - math.log(4),
    fgan.TotalVariation: lambda p, q: 0.5 * float(np.abs(p - q).sum()),
    ipm.Hinge: lambda p, q: float(np.abs(p - q).sum()) - 2,  # 2 TV - 2
    # Mao et al.'s C(G) = 1/2 chi^2(P+Q || 2Q) with their denominator P+Q, minus 1
    least_squares.LSGAN: lambda p, q: 0.5 * float(((2 * q - (p + q)) ** 2 / (p + q)).sum()) - 1,
}
# no closed form: -d_loss maximised numerically through the public loss instead
NUMERICAL = (relativistic.RSGAN, relativistic.RaGAN)
# the Kantorovich dual needs a metric: checked on the line below
LIPSCHITZ = (ipm.WGAN,)


def theory_of(obj) -> Objective:
    """The objective whose theory ``obj`` has: itself, or the base a wrapper delegates to
    on plain scores (e.g. infogan)."""
    base = getattr(obj, "base", None)
    return base if isinstance(base, Objective) else obj


def kind_of(name: str) -> str:
    obj = theory_of(objectives.get(name))
    if type(obj) in INDEPENDENT:
        return "closed"
    if isinstance(obj, NUMERICAL):
        return "numerical"
    if isinstance(obj, LIPSCHITZ):
        return "lipschitz"
    return "unknown"


CLOSED = [n for n in NAMES if kind_of(n) == "closed"]
WITH_TARGET = [n for n in NAMES if kind_of(n) in ("closed", "numerical")]


@pytest.mark.parametrize("name", NAMES)
def test_every_objective_declares_its_theory(name):
    obj = objectives.get(name)
    assert kind_of(name) != "unknown", (
        f"{name}: add an independent computation of its divergence to INDEPENDENT (or a "
        "dedicated test for a numerical / Lipschitz-constrained optimum)")
    entry = REGISTRY.entry(name)
    assert obj.divergence and obj.activation and entry.description and entry.reference
    p, q = probs(PAIRS["skewed"][0]), probs(PAIRS["skewed"][1])
    has_critic = obj.optimal_critic(p, q) is not None
    assert has_critic == (kind_of(name) == "closed")
    assert (obj.target(p, q) is not None) == (kind_of(name) != "lipschitz")
    assert obj.uses_real_in_g == isinstance(theory_of(obj), NUMERICAL)


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("name", CLOSED)
def test_optimal_critic_reaches_the_divergence(name, pair):
    obj = objectives.get(name)
    pc, qc = PAIRS[pair]
    p, q = probs(pc), probs(qc)
    reached = value(obj, obj.optimal_critic(p, q), pc, qc)
    target = obj.target(p, q)
    assert reached == pytest.approx(target, abs=1e-5)
    independent = INDEPENDENT[type(theory_of(obj))](p.numpy(), q.numpy())
    assert target == pytest.approx(independent, abs=1e-5)


@pytest.mark.parametrize("name", WITH_TARGET)
def test_no_critic_exceeds_the_divergence(name):
    """Variational lower bound: -d_loss at any critic <= its value at the optimum."""
    obj = objectives.get(name)
    g = torch.Generator().manual_seed(0)
    for pc, qc in PAIRS.values():
        p, q = probs(pc), probs(qc)
        target = obj.target(p, q)
        scale = torch.tensor([0.1, 1.0, 4.0], dtype=torch.float64).repeat_interleave(100)[:, None]
        critics = [scale * torch.randn(300, len(pc), generator=g, dtype=torch.float64)]
        best = obj.optimal_critic(p, q)
        if best is not None:  # near the optimum too
            critics.append(best + 0.1 * critics[0])
        for c in critics:  # one ensemble member per critic
            assert float(value(obj, c, pc, qc).max()) <= target + 1e-9


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("name", [n for n in NAMES if kind_of(n) == "numerical"])
def test_relativistic_target_is_the_numerical_optimum(name, pair):
    obj = objectives.get(name)
    pc, qc = PAIRS[pair]
    p, q = probs(pc), probs(qc)
    target = obj.target(p, q)
    assert maximise_public_value(obj, pc, qc) == pytest.approx(target, abs=1e-7)
    at_equal = -math.log(2) if isinstance(theory_of(obj), relativistic.RSGAN) else -math.log(4)
    if pair == "equal":
        assert target == pytest.approx(at_equal, abs=1e-9)
    else:  # strictly above its value at P = Q: it separates distributions
        assert target > at_equal + 1e-4


def kantorovich_critic(x: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The 1-Lipschitz maximiser on the line: slope sign(F_Q - F_P) between points."""
    slope = np.sign(np.cumsum(q) - np.cumsum(p))[:-1]
    return np.concatenate([[0.0], np.cumsum(slope * np.diff(x))])


@pytest.mark.parametrize("name", [n for n in NAMES if kind_of(n) == "lipschitz"])
def test_wgan_is_the_kantorovich_dual_on_the_line(name):
    obj = objectives.get(name)
    x = np.array([-1.0, -0.3, 0.4, 2.0])
    for pc, qc in PAIRS.values():
        p, q = probs(pc).numpy(), probs(qc).numpy()
        w1 = wasserstein_distance(x, x, p, q)
        c = kantorovich_critic(x, p, q)
        assert np.all(np.abs(np.diff(c)) <= np.diff(x) + 1e-12)  # 1-Lipschitz
        assert value(obj, torch.tensor(c), pc, qc) == pytest.approx(w1, abs=1e-9)
        g = np.random.default_rng(0)  # any other 1-Lipschitz critic does no better
        steps = np.concatenate([g.normal(size=(300, 1)), g.uniform(-1, 1, (300, 3)) * np.diff(x)], 1)
        assert float(value(obj, torch.tensor(steps.cumsum(1)), pc, qc).max()) <= w1 + 1e-12
        # and a critic that breaks the constraint can: the value is unbounded without it
        assert value(obj, torch.tensor(10 * c), pc, qc) == pytest.approx(10 * w1) or w1 == 0


def test_lsgan_01_coding_reaches_its_divergence():
    obj = objectives.get("lsgan", a=0.0, b=1.0, c=1.0)
    pc, qc = PAIRS["skewed"]
    p, q = probs(pc), probs(qc)
    delta = float(((p - q) ** 2 / (p + q)).sum())
    assert value(obj, obj.optimal_critic(p, q), pc, qc) == pytest.approx(delta / 8 - 0.25, abs=1e-9)
    assert obj.target(p, q) == pytest.approx(delta / 8 - 0.25, abs=1e-12)
    with pytest.raises(ValueError, match="a != b"):
        objectives.get("lsgan", a=1.0, b=1.0)


# --- f-GAN: the table entries themselves ---------------------------------------------------

FGANS = [n for n in NAMES if isinstance(objectives.get(n), FGAN)]
V = torch.linspace(-1.5, 1.5, 7, dtype=torch.float64)


@pytest.mark.parametrize("name", FGANS)
def test_fgan_conjugate_is_the_fenchel_conjugate_of_f(name):
    """f*(t) = sup_{u>0} u t - f(u) at t = g_f(v), found by a scalar search over log u."""
    obj = objectives.get(name)
    for t in obj.output_activation(V):
        def neg(s, t=float(t)):
            u = torch.tensor(math.exp(s), dtype=torch.float64)
            return -(float(u) * t - float(obj.f(u)))

        res = minimize_scalar(neg, bounds=(-25, 8), method="bounded", options={"xatol": 1e-10})
        assert float(obj.conjugate(t)) == pytest.approx(-res.fun, abs=1e-6)
    # the stable rewrite of f*(g_f(v)) is the same function
    torch.testing.assert_close(obj.conjugate_of_output(V), obj.conjugate(obj.output_activation(V)))


@pytest.mark.parametrize("name", FGANS)
def test_fgan_optimal_critic_is_f_prime_of_the_ratio(name):
    obj = objectives.get(name)
    p, q = probs(PAIRS["skewed"][0]), probs(PAIRS["skewed"][1])
    u = (p / q).clone().requires_grad_(True)
    (fprime,) = torch.autograd.grad(obj.f(u).sum(), u)
    if isinstance(obj, fgan.TotalVariation):
        fprime = 0.5 * torch.sign(p - q)  # f'(u) = sign(u - 1)/2 away from u = 1
    torch.testing.assert_close(obj.output_activation(obj.optimal_critic(p, q)), fprime)
    # f(1) = D_f(P || P): 0, except the GAN's f, which carries the -log 4 offset
    f1 = float(obj.f(torch.ones((), dtype=torch.float64)))
    assert f1 == pytest.approx(INDEPENDENT[type(obj)](p.numpy(), p.numpy()), abs=1e-12)


@pytest.mark.parametrize("name", FGANS)
def test_fgan_generator_maximises_the_activated_output(name):
    obj = objectives.get(name)
    f = torch.randn(3, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(obj.g_loss(f), -obj.output_activation(f).mean(-1))


def test_fgan_gan_is_the_goodfellow_game():
    a, b = objectives.get("fgan_gan"), objectives.get("nonsaturating")
    r, f = torch.randn(2, 2, 32, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(a.d_loss(r, f), b.d_loss(r, f))
    torch.testing.assert_close(a.g_loss(f), b.g_loss(f))


# --- the two Goodfellow generators --------------------------------------------------------


def test_minimax_saturates_and_nonsaturating_does_not():
    """Where the critic rejects fakes (D(G(z)) -> 0) the minimax generator gets no gradient."""
    for raw, small in ((-10.0, 1e-4), (-20.0, 1e-8)):
        f = torch.tensor([raw], requires_grad=True)
        (g_mm,) = torch.autograd.grad(objectives.get("minimax").g_loss(f), f)
        (g_ns,) = torch.autograd.grad(objectives.get("nonsaturating").g_loss(f), f)
        assert abs(float(g_mm)) < small
        assert float(g_ns) < -0.99  # pushes the raw output up at full strength


def generator_gradient(name: str, p: torch.Tensor, theta: torch.Tensor,
                       q_critic: torch.Tensor | None = None) -> torch.Tensor:
    """d/d theta of E_{Q_theta}[per-sample generator loss], the critic held at the optimum
    for (P, Q) (or for (P, q_critic), to give it exact probabilities)."""
    obj = objectives.get(name)
    theta = theta.clone().requires_grad_(True)
    q = torch.softmax(theta, 0)
    c = obj.optimal_critic(p, q.detach() if q_critic is None else q_critic)
    loss = sum(q[i] * obj.g_loss(c[i:i + 1]) for i in range(len(p)))  # exact E_Q
    (g,) = torch.autograd.grad(loss, theta)
    return g


def numeric_gradient(fn, theta: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    out = torch.zeros_like(theta)
    for i in range(len(theta)):
        e = torch.zeros_like(theta)
        e[i] = h
        out[i] = (fn(torch.softmax(theta + e, 0)) - fn(torch.softmax(theta - e, 0))) / (2 * h)
    return out


def test_generator_losses_differ_but_share_the_fixed_point():
    """At the optimal critic the minimax generator follows 2 JSD - log 4 and the
    non-saturating one KL(Q||P) - 2 JSD(P||Q) (Arjovsky & Bottou 2017, thm 2.5): two
    different functions of Q, both stationary at Q = P."""
    p = probs(PAIRS["skewed"][0])
    np_p = p.numpy()
    claimed = {
        "minimax": lambda q: 2 * jsd(np_p, q.numpy()) - math.log(4),
        "nonsaturating": lambda q: float(entropy(q.numpy(), np_p)) - 2 * jsd(np_p, q.numpy()),
    }
    theta = torch.log(probs(PAIRS["skewed"][1]))
    grads = {}
    for name, fn in claimed.items():
        grads[name] = generator_gradient(name, p, theta)
        torch.testing.assert_close(grads[name], numeric_gradient(fn, theta), atol=1e-7, rtol=1e-5)
        at_p = generator_gradient(name, p, torch.log(p))
        assert float(at_p.abs().max()) < 1e-12
        assert float(grads[name].abs().max()) > 1e-2
    cos = torch.nn.functional.cosine_similarity(grads["minimax"], grads["nonsaturating"], 0)
    assert float(cos) < 0.999  # different directions away from the fixed point


@pytest.mark.parametrize("name", [n for n in NAMES if kind_of(n) == "closed"])
def test_generator_is_stationary_at_p_equals_q(name):
    p = probs(PAIRS["equal"][0])
    g = generator_gradient(name, p, torch.log(p), q_critic=p)  # sign(p - q) needs exact q
    assert float(g.abs().max()) < 1e-12


# --- shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_losses_are_batch_means_per_member(name):
    obj = objectives.get(name)
    r, f = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(3))
    for shape in ((8,), (8, 1)):
        assert obj.d_loss(r[0].reshape(shape), f[0].reshape(shape)).shape == ()
    d, g = obj.d_loss(r, f), obj.g_loss(f, r)
    assert d.shape == g.shape == (3,)
    assert torch.isfinite(d).all() and torch.isfinite(g).all()
    # member e's loss depends on member e's outputs only
    torch.testing.assert_close(obj.d_loss(r[1:2], f[1:2]), d[1:2])
    torch.testing.assert_close(obj.g_loss(f[1:2], r[1:2]), g[1:2])
    if obj.uses_real_in_g:
        with pytest.raises(ValueError, match="real"):
            obj.g_loss(f)
