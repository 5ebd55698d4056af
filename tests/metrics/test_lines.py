"""WGAN's parallel lines (Arjovsky et al. 2017, Example 1), tested as theory: the data and
the one-parameter generator are the stated uniforms, the exact divergences are those of
disjoint supports (f(0) + lim f(u)/u for an f-GAN), the kernel's MMD^2 by quadrature meets
an independent double integral and the unbiased estimator, the pull of the generator's
gradient vanishes at the saturated minimax critic and not at a 1-Lipschitz WGAN critic,
and a short training run reads a WGAN-GP critic's estimate close to W1 = |theta|."""

import math

import pytest
import torch
from scipy import integrate, stats

from ganbench.cli import main
from ganbench.data import REGISTRY as DATASETS
from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics.base import EvalContext, MetricError
from ganbench.metrics.distances import MMD_FACTORS, mmd2_unbiased
from ganbench.metrics.lines import divergence_exact, mmd_exact, theta_pull
from ganbench.models import REGISTRY as MODELS
from ganbench.objectives import REGISTRY as OBJECTIVES
from ganbench.results import RunDir
from ganbench.suite import parse_suite
from ganbench.train import train_group

LOG2, LOG4 = math.log(2.0), math.log(4.0)


def lines(theta, n, seed):
    g = torch.Generator().manual_seed(seed)
    ds = DATASETS.create("parallel_lines")
    real = ds.sample(n, g)
    model = MODELS.create("parallel_lines", theta=theta)
    G = model.generator((2,), [torch.Generator().manual_seed(0)])
    fake = G(torch.randn(1, n, 1, generator=g))[0].detach()
    return real, fake, G


def test_data_and_generator_are_the_two_uniform_segments():
    real, fake, _ = lines(0.7, 20000, 0)
    assert torch.all(real[:, 0] == 0) and torch.allclose(fake[:, 0], torch.full_like(fake[:, 0], 0.7))
    for y in (real[:, 1], fake[:, 1]):  # Phi(z) of a normal z is uniform on [0, 1]
        assert stats.kstest(y.numpy(), "uniform").pvalue > 1e-3
    # a generator that shifts its uniform would fail the same test
    assert stats.kstest((fake[:, 1] * 0.9).numpy(), "uniform").pvalue < 1e-6


def test_a_fixed_theta_gets_a_zero_gradient_and_a_trained_one_not():
    for train, moved in ((False, False), (True, True)):
        G = MODELS.create("parallel_lines", theta=1.0, train_theta=train).generator(
            (2,), [torch.Generator()])
        G(torch.randn(1, 64, 1))[..., 0].sum().backward()
        assert (float(G.theta.grad.abs().sum()) > 0) is moved


@pytest.mark.parametrize("name", ["fgan_kl", "fgan_reverse_kl", "fgan_pearson",
                                  "fgan_neyman", "fgan_hellinger", "fgan_jensen_shannon",
                                  "fgan_gan", "fgan_total_variation", "fgan_jeffrey"])
def test_disjoint_value_is_f0_plus_the_slope_at_infinity(name):
    """D_f of disjoint supports = f(0) + lim f(u)/u, read off f itself in float64."""
    obj = OBJECTIVES.create(name)
    u0, big, bigger = (torch.tensor(x, dtype=torch.float64) for x in (1e-300, 1e8, 1e16))
    f0 = float(obj.f(u0))
    slope, slope2 = float(obj.f(big) / big), float(obj.f(bigger) / bigger)
    if math.isinf(obj.disjoint):  # f(0) or the slope grows without bound
        assert f0 > 50 or slope2 - slope > 1.0
    else:
        assert f0 + slope2 == pytest.approx(obj.disjoint, abs=1e-6)


@pytest.mark.parametrize("name,at_zero,apart", [
    ("minimax", -LOG4, 0.0), ("nonsaturating", -LOG4, 0.0), ("hinge", -2.0, 0.0),
    ("lsgan", -1.0, 0.0), ("fgan_jensen_shannon", 0.0, 2 * LOG2),
    ("fgan_total_variation", 0.0, 1.0), ("fgan_kl", 0.0, math.inf), ("wgan", 0.0, None)])
def test_exact_divergence_of_the_lines(name, at_zero, apart):
    obj = OBJECTIVES.create(name)
    assert divergence_exact(obj, 0.0) == pytest.approx(at_zero, abs=1e-9)
    for theta in (0.3, -2.0):
        want = abs(theta) if apart is None else apart
        assert divergence_exact(obj, theta) == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("theta", [0.1, 0.5, 2.0])
def test_mmd_exact_meets_a_double_integral_and_the_unbiased_estimator(theta):
    bw = [f * 0.5 for f in MMD_FACTORS]

    def k(r2):
        return sum(math.exp(-r2 / (2 * b * b)) for b in bw) / len(bw)
    within, _ = integrate.dblquad(lambda u, v: k((u - v) ** 2), 0, 1, 0, 1)
    across, _ = integrate.dblquad(lambda u, v: k(theta ** 2 + (u - v) ** 2), 0, 1, 0, 1)
    exact = mmd_exact(theta, bw)
    assert exact == pytest.approx(2 * within - 2 * across, abs=1e-7)
    est = [mmd2_unbiased(*(t.double() for t in lines(theta, 400, s)[:2]), bw)
           for s in range(20)]
    se = stats.sem(est)
    assert abs(sum(est) / len(est) - exact) < 4 * se + 1e-4
    # a wrong truth (the kernel's value at half the bandwidth) is far outside that error
    assert abs(sum(est) / len(est) - mmd_exact(theta, [b / 2 for b in bw])) > 4 * se


def test_the_pull_vanishes_at_the_saturated_gan_critic_and_not_at_wgans():
    real, fake, _ = lines(1.5, 500, 1)

    def saturated(x, grad=False):  # an optimal-looking minimax critic: fakes far below 0
        return -60.0 * x[:, 0] + 10.0

    def lipschitz(x, grad=False):  # the optimal 1-Lipschitz WGAN critic for theta > 0
        return -x[:, 0]
    assert theta_pull(fake, real, saturated, OBJECTIVES.create("minimax")) < 1e-12
    assert theta_pull(fake, real, saturated, OBJECTIVES.create("nonsaturating")) \
        == pytest.approx(60.0, rel=1e-6)
    assert theta_pull(fake, real, lipschitz, OBJECTIVES.create("wgan")) == pytest.approx(1.0)
    # a critic that increases towards the generator pushes it away: the sign says so
    assert theta_pull(fake, real, lambda x, grad=False: x[:, 0],
                      OBJECTIVES.create("wgan")) == pytest.approx(-1.0)


def test_metrics_on_an_exact_critic():
    real, fake, _ = lines(-0.8, 1000, 2)
    ctx = EvalContext(real=real, dataset=DATASETS.create("parallel_lines"),
                      extras={"critic": lambda x, grad=False: x[:, 0],  # optimal for theta < 0
                              "objective": OBJECTIVES.create("wgan")})
    out = METRICS.create("line_distance", mmd_bandwidth=0.5)(fake, ctx)
    assert out["line_distance"] == pytest.approx(0.8) and out["theta"] == pytest.approx(-0.8)
    assert out["js_exact"] == LOG2 and out["tv_exact"] == 1.0
    assert out["critic_exact"] == pytest.approx(0.8) and out["theta_pull"] == pytest.approx(1.0)
    assert out["mmd_exact"] == pytest.approx(mmd_exact(0.8, [f * 0.5 for f in MMD_FACTORS]))
    est = METRICS.create("critic_estimate")(fake, ctx)["critic_estimate"]
    assert est == pytest.approx(0.8, abs=1e-6)  # E_P[C] - E_Q[C] = 0 - (-0.8)
    # an infinite exact divergence is left out, not written as "no value"
    kl = METRICS.create("line_distance")(fake, EvalContext(
        real=real, dataset=ctx.dataset, extras={"objective": OBJECTIVES.create("fgan_kl")}))
    assert "critic_exact" not in kl and "mmd_exact" not in kl
    with pytest.raises(MetricError, match="one vertical line"):
        METRICS.create("line_distance")(real + torch.rand_like(real) * 0.1, ctx)


def test_bad_input_is_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="theta must be a finite number"):
        MODELS.create("parallel_lines", theta=math.nan)
    with pytest.raises(ValueError, match="mmd_bandwidth"):
        METRICS.create("line_distance", mmd_bandwidth=-1.0)
    suite = tmp_path / "s.yaml"
    suite.write_text("base:\n  dataset: ring\n  model: mlp\n  objective: wgan\n"
                     "  evaluation: {metrics: [line_distance]}\n")
    res = tmp_path / "res"
    assert main(["run", str(suite), "--results", str(res)]) == 2
    err = capsys.readouterr().err
    assert "line_distance" in err and "parallel_lines" in err and not res.exists()


def test_a_trained_wgan_gp_critic_estimates_w1(tmp_path):
    """200 critic steps at theta = 1 (fixed): the estimate is within 0.15 of W1 = 1 (the
    suite's 1000 steps reach 0.05; the untrained critic's estimate is near 0)."""
    base = {"dataset": "parallel_lines", "objective": "wgan_gp", "seed": 0,
            "model": {"name": "parallel_lines", "theta": 1.0, "train_theta": False,
                      "width": 32, "depth": 2},
            "optimizer": {"name": "adam", "lr_g": 1e-3, "lr_d": 3e-3, "beta1": 0.5},
            "training": {"iterations": 200, "batch_size": 128},
            "evaluation": {"every": 200, "samples": 500,
                           "metrics": ["critic_estimate", "line_distance"]}}
    specs = parse_suite({"name": "l", "base": base}).runs
    train_group(specs, tmp_path, torch.device("cpu"))
    last = RunDir(tmp_path, specs[0].suite, specs[0].run_id).read_metrics()[-1]
    assert last["line_distance"] == 1.0  # theta did not move
    assert last["critic_estimate"] == pytest.approx(last["critic_exact"], abs=0.15)
    assert last["theta_pull"] > 0.5


def test_a_diverged_member_does_not_poison_another_members_critic_gradient():
    """An ensemble shares x across members: member 1's NaN weights must not reach member
    0's input gradient (0 * NaN in the backward pass of the grouped product)."""
    from ganbench.ci.bench import bench_runs
    from ganbench.train import member_critic
    from ganbench.train.build import build
    game = build(bench_runs(members=2, objective="wgan"), torch.device("cpu")).game
    x = torch.randn(64, 2)

    def input_grad(i):
        xi = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(member_critic(game, i)(xi, grad=True).sum(), xi)
        return g
    before = input_grad(0)
    with torch.no_grad():
        for p in game.D.parameters():
            p[1] = math.nan
    after = input_grad(0)
    assert torch.isfinite(after).all() and torch.equal(before, after)
    assert not torch.isfinite(member_critic(game, 1)(x)).any()
