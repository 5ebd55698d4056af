"""f-GAN's Gaussian fit (Nowozin, Cseke & Tomioka 2016, section 4), measured exactly.

P is a 1-D mixture of Gaussians (``gaussian_mixture_1d``), Q_theta = N(mu, sigma^2) (the
``affine`` generator). Everything here is computed by quadrature on the exact densities,
independently of training:

- ``divergence(P, mu, sigma, family)``: D_f(P || N(mu, sigma^2)) by ``scipy.integrate.quad``
  on each divergence's integrand, written from log densities so that the tails neither
  underflow nor overflow; a divergence that is infinite or whose quadrature does not
  converge raises ``QuadratureError`` (never a NaN);
- ``exact_minimiser(P, family)``: theta* = argmin D_f(P || Q_theta) by ``scipy.optimize``
  (Nelder-Mead on (mu, log sigma) from the moment match), not by training;
- ``saddle_value``: F(omega, theta) = E_P[g_f(v)] - E_Q[f*(g_f(v))] of a trained critic v
  on a fine grid (Simpson's rule): the variational lower bound, so F <= D_f(P || Q_theta)
  for every critic (Fenchel-Young), which tests/metrics/test_gaussian_fit.py checks.

The metric ``gaussian_fit`` reports the excess divergence of the fit over the best Gaussian,
the fitted mu and sigma (the mean and std of the
generated samples), the exact minimiser, D_f at both, and F of the training critic.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np
import torch
from scipy import integrate, optimize

from ganbench.data.gaussian1d import NOWOZIN, GaussianMixture1D
from ganbench.metrics.base import EvalContext, Metric, MetricError, ResultEntry
from ganbench.metrics.registry import REGISTRY

LOG2 = math.log(2.0)


class QuadratureError(ValueError):
    """A divergence that is infinite or whose quadrature does not converge."""


def _normal_logpdf(x, mu, sigma):
    return -np.log(sigma) - 0.5 * math.log(2 * math.pi) - 0.5 * ((x - mu) / sigma) ** 2


# q f(p/q) of each member of the family, from lp = log p and lq = log q
INTEGRANDS = {
    "kl": lambda lp, lq: np.exp(lp) * (lp - lq),
    "reverse_kl": lambda lp, lq: np.exp(lq) * (lq - lp),
    "jeffrey": lambda lp, lq: (np.exp(lp) - np.exp(lq)) * (lp - lq),
    # 2 JSD = KL(P||M) + KL(Q||M) with M = (P + Q) / 2 (what fgan_jensen_shannon reaches)
    "jensen_shannon": lambda lp, lq: (np.exp(lp) * (LOG2 + lp - np.logaddexp(lp, lq))
                                      + np.exp(lq) * (LOG2 + lq - np.logaddexp(lp, lq))),
    "gan": lambda lp, lq: (np.exp(lp) * (lp - np.logaddexp(lp, lq))
                           + np.exp(lq) * (lq - np.logaddexp(lp, lq))),
    "pearson": lambda lp, lq: np.exp(2 * lp - lq) - 2 * np.exp(lp) + np.exp(lq),
    "neyman": lambda lp, lq: np.exp(2 * lq - lp) - 2 * np.exp(lq) + np.exp(lp),
    "hellinger": lambda lp, lq: np.exp(lp) + np.exp(lq) - 2 * np.exp(0.5 * (lp + lq)),
    "total_variation": lambda lp, lq: 0.5 * np.abs(np.exp(lp) - np.exp(lq)),
}
FAMILIES = tuple(INTEGRANDS)


def _span(ds: GaussianMixture1D, mu: float, sigma: float, k: float = 12.0) -> tuple[float, float]:
    lo = min(min(m - k * s for m, s in zip(ds.means, ds.stds)), mu - k * sigma)
    hi = max(max(m + k * s for m, s in zip(ds.means, ds.stds)), mu + k * sigma)
    return lo, hi


def divergence(ds: GaussianMixture1D, mu: float, sigma: float, family: str) -> float:
    """D_f(P || N(mu, sigma^2)) by adaptive quadrature over the real line."""
    if family not in INTEGRANDS:
        raise ValueError(f"unknown divergence {family!r}; valid: {', '.join(FAMILIES)}")
    if not (math.isfinite(mu) and math.isfinite(sigma) and sigma > 0):
        raise QuadratureError(f"{family}: Q = N({mu:g}, {sigma:g}^2) is not a distribution")
    fn = INTEGRANDS[family]

    def integrand(x):
        with np.errstate(over="ignore", invalid="ignore"):
            return float(fn(ds.log_density(x), _normal_logpdf(x, mu, sigma)))

    lo, hi = _span(ds, mu, sigma)
    points = sorted({*ds.means, mu})
    total, err = 0.0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", integrate.IntegrationWarning)
        try:
            for a, b, pts in ((-math.inf, lo, None), (lo, hi, points), (hi, math.inf, None)):
                kw = {"points": pts} if pts else {}
                v, e = integrate.quad(integrand, a, b, limit=400, epsabs=1e-11, epsrel=1e-10,
                                      **kw)
                total, err = total + v, err + e
        except integrate.IntegrationWarning as exc:
            raise QuadratureError(
                f"{family}: the quadrature of D_f(P || N({mu:.6g}, {sigma:.6g}^2)) does not "
                f"converge (the divergence may be infinite): {str(exc).splitlines()[0]}"
            ) from None
    if not math.isfinite(total) or not err <= 1e-6 * max(1.0, abs(total)):
        raise QuadratureError(f"{family}: D_f(P || N({mu:.6g}, {sigma:.6g}^2)) is infinite or "
                              f"its quadrature does not converge (value {total:g}, error "
                              f"{err:g})")
    return total


@lru_cache(maxsize=256)
def _minimiser(weights: tuple, means: tuple, stds: tuple, family: str) -> tuple[float, float, float]:
    ds = GaussianMixture1D(list(weights), list(means), list(stds))

    def loss(x):
        try:
            return divergence(ds, float(x[0]), float(math.exp(x[1])), family)
        except QuadratureError:
            # outside the divergence's finite region: a large finite value, since the
            # simplex never converges on infinities (inf - inf)
            return 1e6

    start = np.array([ds.mean(), math.log(ds.std())])
    best = None
    # two starts (the moment match, and a narrow fit on the heaviest component) so that a
    # mode-seeking divergence finds its global minimum, not the nearest local one
    k = int(np.argmax(ds.weights))
    for x0 in (start, np.array([ds.means[k], math.log(ds.stds[k])])):
        res = optimize.minimize(loss, x0, method="Nelder-Mead",
                                options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 2000})
        if res.fun < 1e6 and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise QuadratureError(f"{family}: no Gaussian has a finite divergence from P")
    return float(best.x[0]), float(math.exp(best.x[1])), float(best.fun)


def exact_minimiser(ds: GaussianMixture1D, family: str) -> tuple[float, float, float]:
    """(mu*, sigma*, D_f(P || Q_theta*)): the best Gaussian for the divergence."""
    return _minimiser(tuple(ds.weights), tuple(ds.means), tuple(ds.stds), family)


def saddle_value(ds: GaussianMixture1D, critic, objective, mu: float, sigma: float,
                 points: int = 40001) -> float:
    """F = E_P[g_f(v)] - E_Q[f*(g_f(v))] for the critic ``critic`` ([N, 1] -> [N] raw
    outputs), Q = N(mu, sigma^2), by Simpson's rule on a grid spanning both."""
    lo, hi = _span(ds, mu, sigma)
    x = np.linspace(lo, hi, points)
    v = critic(torch.as_tensor(x, dtype=torch.float32)[:, None]).double().reshape(-1)
    t = objective.output_activation(v).numpy()
    fstar = objective.conjugate_of_output(v).numpy()
    p = np.exp(ds.log_density(x))
    q = np.exp(_normal_logpdf(x, mu, sigma))
    with np.errstate(invalid="ignore"):  # 0 * inf where a density underflows: no mass
        fp, fq = np.where(p > 0, p * t, 0.0), np.where(q > 0, q * fstar, 0.0)
    return float(integrate.simpson(fp, x=x) - integrate.simpson(fq, x=x))


@REGISTRY.register(
    "gaussian_fit",
    description="f-GAN's Gaussian fit: fitted mu, sigma, the exact minimiser and divergences "
                "by quadrature",
    reference=NOWOZIN,
)
class GaussianFit(Metric):
    needs = frozenset({"critic"})
    entries = (
        ResultEntry("gaussian_fit", "min", "", "D_f(P || Q) of the fitted Gaussian minus "
                    "that of the exact minimiser (0 at the best Gaussian)"),
        ResultEntry("mu", None, "", "the fitted mean (of the generated samples)"),
        ResultEntry("sigma", None, "", "the fitted std (of the generated samples)",
                    bounds=(0.0, None)),
        ResultEntry("mu_exact", None, "", "mu* of argmin D_f(P || N(mu, sigma^2)), by "
                    "quadrature and Nelder-Mead"),
        ResultEntry("sigma_exact", None, "", "sigma* of that exact minimiser",
                    bounds=(0.0, None)),
        # not ranked: each row measures its own divergence, so rows are not comparable
        ResultEntry("divergence_exact", None, "", "D_f(P || Q) of the fitted Gaussian, by "
                    "quadrature", bounds=(0.0, None)),
        ResultEntry("divergence_min", None, "", "D_f(P || Q_theta*): the least any Gaussian "
                    "reaches", bounds=(0.0, None)),
        ResultEntry("saddle_exact", None, "", "F(omega, theta) of the training critic on the "
                    "fitted Gaussian, by quadrature (a lower bound on divergence_exact)"),
    )
    band = (0.01, 0.0)

    def __init__(self, divergence: str = "auto"):
        if divergence != "auto" and divergence not in INTEGRANDS:
            raise ValueError(f"divergence: expected auto or one of {', '.join(FAMILIES)}, "
                             f"got {divergence!r}")
        self.divergence = divergence

    def applies(self, dataset):
        if not isinstance(dataset, GaussianMixture1D):
            return "needs the gaussian_mixture_1d dataset (its exact density)"
        return None

    def __call__(self, fake, ctx: EvalContext):
        objective = ctx.extras.get("objective")
        family = self.divergence if self.divergence != "auto" else \
            getattr(objective, "family", "")
        if family not in INTEGRANDS:
            raise MetricError("needs an f-GAN objective (its divergence) or divergence: set to "
                              f"one of {', '.join(FAMILIES)}")
        x = fake.double().reshape(-1)
        mu, sigma = float(x.mean()), float(x.std())
        ds = ctx.dataset
        try:
            mu_s, sigma_s, d_min = exact_minimiser(ds, family)
            d_fit = divergence(ds, mu, sigma, family)
        except QuadratureError as exc:
            raise MetricError(str(exc)) from None
        out = {"gaussian_fit": d_fit - d_min, "mu": mu, "sigma": sigma, "mu_exact": mu_s, "sigma_exact": sigma_s,
               "divergence_exact": d_fit, "divergence_min": d_min}
        critic = ctx.extras.get("critic")
        if critic is not None and getattr(objective, "family", "") == family:
            out["saddle_exact"] = saddle_value(ds, critic, objective, mu, sigma)
        return out
