"""WGAN's parallel lines (Arjovsky et al. 2017, Example 1), measured against exact values.

P is uniform on {0} x [0, 1] (dataset ``parallel_lines``), Q_theta on {theta} x [0, 1]
(model ``parallel_lines``). The metric ``line_distance`` reads theta from the generated
samples (every one has x = theta) and reports what is known exactly there:

- W1(P, Q_theta) = |theta| (``line_distance``: the generator's distance from the data);
- for theta != 0 the supports are disjoint: JS = log 2, TV = 1 (and KL = infinity, which
  results cannot hold); at theta = 0 all are 0 (``w1_exact``, ``js_exact``, ``tv_exact``);
- ``critic_exact``: what ``-d_loss`` of the run's objective reaches at its optimal
  critic, the quantity its trained critic estimates (``critic_estimate``): |theta| for
  WGAN (a 1-Lipschitz critic), f(0) + lim f(u)/u for an f-GAN on disjoint supports, the
  objective's own discrete target otherwise (e.g. 2 JSD - log 4 = 0 for the GAN);
- ``mmd_exact``: MMD^2 of the ``mmd`` metric's kernel at a fixed bandwidth, by quadrature:
  |x - x'|^2 within a line is D^2 and across the lines theta^2 + D^2, with D = U - U' of
  triangular density 1 - |D|, so MMD^2 = 4 int_0^1 (1 - d) (k(d^2) - k(theta^2 + d^2)) dd;
- ``theta_pull``: sign(theta) * d(generator loss)/d(theta) at the training critic: how
  hard a gradient step on the generator pulls theta towards the data (0: no usable
  gradient, the paper's point about the saturated JS critic).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import integrate

from ganbench.data.lines import ARJOVSKY, ParallelLines
from ganbench.metrics.base import EvalContext, Metric, MetricError, ResultEntry
from ganbench.metrics.distances import MMD_FACTORS
from ganbench.metrics.registry import REGISTRY

LOG2 = math.log(2.0)


def divergence_exact(objective, theta: float) -> float | None:
    """What ``-d_loss`` of ``objective`` reaches at its optimal critic between P and
    Q_theta (None when the objective states no divergence)."""
    if objective is None:
        return None
    disjoint = theta != 0.0
    if str(getattr(objective, "divergence", "")).startswith("W1"):
        return abs(theta)
    if hasattr(objective, "disjoint"):  # an f-GAN: D_f = 0 at P = Q (f(1) = 0)
        return float(objective.disjoint) if disjoint else 0.0
    one = torch.ones(1, dtype=torch.float64)
    p, q = (torch.tensor([1.0, 0.0], dtype=torch.float64),
            torch.tensor([0.0, 1.0], dtype=torch.float64)) if disjoint else (one, one)
    value = objective.target(p, q)
    return None if value is None else float(value)


def mmd_exact(theta: float, bandwidths: list[float]) -> float:
    """MMD^2 between P and Q_theta for k = mean over bandwidths of exp(-r^2 / (2 b^2))."""
    def k(r2):
        return sum(math.exp(-r2 / (2 * b * b)) for b in bandwidths) / len(bandwidths)

    value, _ = integrate.quad(lambda d: (1 - d) * (k(d * d) - k(theta * theta + d * d)),
                              0.0, 1.0, epsabs=1e-13, epsrel=1e-11)
    return 4.0 * value


def theta_pull(fake: torch.Tensor, real: torch.Tensor, critic, objective) -> float:
    """sign(theta) * dL_G/dtheta at the critic: every sample's x-coordinate is theta, so
    dL_G/dtheta is the sum of the loss's gradients along x over the samples."""
    theta = float(fake[:, 0].mean())
    with torch.enable_grad():
        x = fake.detach().clone().requires_grad_(True)
        d_real = critic(real) if getattr(objective, "uses_real_in_g", False) else None
        loss = objective.g_loss(critic(x, grad=True), d_real)
        (grad,) = torch.autograd.grad(loss.sum(), x)
    return math.copysign(1.0, theta) * float(grad[:, 0].sum()) if theta != 0 else 0.0


@REGISTRY.register(
    "line_distance",
    description="WGAN's parallel lines: |theta|, theta of the samples, exact W1 / JS / TV / KL / MMD "
                "and the objective's exact divergence; the generator's pull towards the data",
    reference=ARJOVSKY,
)
class ParallelLinesMetric(Metric):
    entries = (
        ResultEntry("line_distance", "min", "", "|theta| = W1(P, Q_theta): the generator's "
                    "distance from the data", bounds=(0.0, None)),
        ResultEntry("theta", None, "", "the generated line's x-coordinate"),
        ResultEntry("w1_exact", None, "", "W1(P, Q_theta) = |theta|", bounds=(0.0, None)),
        ResultEntry("js_exact", None, "nats", "JS(P, Q_theta): log 2 for theta != 0",
                    bounds=(0.0, LOG2)),
        ResultEntry("tv_exact", None, "", "TV(P, Q_theta): 1 for theta != 0",
                    bounds=(0.0, 1.0)),
        ResultEntry("critic_exact", None, "", "what -d_loss of the run's objective "
                    "reaches at its optimal critic (left out where it is infinite)"),
        ResultEntry("mmd_exact", None, "", "MMD^2 of the mmd metric's kernel at the fixed "
                    "bandwidth, by quadrature", bounds=(0.0, None)),
        ResultEntry("theta_pull", None, "", "sign(theta) dL_G/dtheta at the training "
                    "critic: the pull of a gradient step towards the data"),
    )
    needs = frozenset({"critic", "plain_critic"})

    def __init__(self, mmd_bandwidth: float = 0.0,
                 mmd_factors: tuple = MMD_FACTORS):
        factors = tuple(float(f) for f in mmd_factors)
        if not (mmd_bandwidth >= 0 and math.isfinite(mmd_bandwidth)):
            raise ValueError(f"mmd_bandwidth must be a number >= 0 (0: no mmd_exact), got "
                             f"{mmd_bandwidth}")
        if not factors or min(factors) <= 0:
            raise ValueError("mmd_factors needs one or more factors > 0")
        self.bandwidths = [f * float(mmd_bandwidth) for f in factors] if mmd_bandwidth else []

    def applies(self, dataset):
        if not isinstance(dataset, ParallelLines):
            return "needs the parallel_lines dataset (its exact divergences)"
        return None

    def __call__(self, fake, ctx: EvalContext):
        x = fake.double()
        if x.ndim != 2 or x.shape[1] != 2:
            raise MetricError(f"line_distance needs [N, 2] samples, got {tuple(x.shape)}")
        theta = float(x[:, 0].mean())
        if float((x[:, 0] - theta).abs().max()) > 1e-5 * max(1.0, abs(theta)):
            raise MetricError("the samples do not lie on one vertical line (the "
                              "parallel_lines model puts every sample at x = theta)")
        apart = theta != 0.0
        out = {"line_distance": abs(theta), "theta": theta, "w1_exact": abs(theta),
               "js_exact": LOG2 if apart else 0.0, "tv_exact": 1.0 if apart else 0.0}
        if self.bandwidths:
            out["mmd_exact"] = mmd_exact(theta, self.bandwidths)
        objective, critic = ctx.extras.get("objective"), ctx.extras.get("critic")
        exact = divergence_exact(objective, theta)
        # results hold no infinities (they would read as "no value"): KL-like divergences
        # of disjoint lines are left out, and the docs say they are infinite
        if exact is not None and math.isfinite(exact):
            out["critic_exact"] = exact
        if critic is not None and objective is not None:
            out["theta_pull"] = theta_pull(fake, ctx.real, critic, objective)
        return out


@REGISTRY.register(
    "critic_estimate",
    description="-d_loss of the training critic on held-out real and generated samples: "
                "its estimate of the objective's divergence",
    reference="Nowozin et al. 2016 (the variational bound); Arjovsky et al. 2017 (W1's dual)",
)
class CriticEstimate(Metric):
    entries = (ResultEntry("critic_estimate", None, "", "-d_loss of the training critic on "
                           "held-out samples (regularizers not included)"),)
    needs = frozenset({"critic", "plain_critic"})

    def __call__(self, fake, ctx: EvalContext):
        objective, critic = ctx.extras.get("objective"), ctx.extras.get("critic")
        if critic is None or objective is None:
            raise MetricError("critic_estimate needs the training critic and objective "
                              "(available only while training)")
        with torch.no_grad():
            value = -objective.d_loss(critic(ctx.real), critic(fake))
        value = float(np.asarray(value.double().cpu()).reshape(-1)[0])
        return {"critic_estimate": value}
