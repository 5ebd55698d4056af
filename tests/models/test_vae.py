"""The VAE family: the ELBO against its closed form, a fit to one Gaussian, networks and
runs vectorised over members, resume, and the suite rules of a model without a critic."""

import copy
import math

import numpy as np
import pytest
import torch

from ganbench.models import REGISTRY
from ganbench.models.layers import EnsembleLinear
from ganbench.models.vae import VAENet, gaussian_kl
from ganbench.results import RunDir
from ganbench.seeding import generator
from ganbench.suite import SuiteError, parse_suite
from ganbench.train import build, train_group

CPU = torch.device("cpu")


def gens(seeds):
    return [generator(s, "init") for s in seeds]


# --- the ELBO on a linear-Gaussian model ------------------------------------------------


def test_elbo_equals_its_closed_form_on_a_linear_gaussian_model():
    """Linear encoder and decoder, Gaussian likelihood of fixed std s:
    E_q[log p(x|z)] = -(|x - (mu W + b)|^2 + sum_k sigma_k^2 |W_k|^2) / (2 s^2)
                      - D log s - D/2 log 2 pi, and KL(q || N(0, I)) in closed form."""
    torch.manual_seed(0)
    E, code, D, s = 2, 3, 4, 0.7
    g = gens(range(E))
    net = VAENet(EnsembleLinear(g, D, 2 * code), EnsembleLinear(g, code, D), (D,), code,
                 "gaussian", s, "mean", E).double()
    with torch.no_grad():  # spread the posterior variances away from 1
        net.encoder.bias[..., code:] = torch.tensor([-1.0, 0.3, 0.8], dtype=torch.double)
    x = torch.randn(E, 5, D, dtype=torch.double)
    mu, logvar = net.encode(x)
    W, b = net.decoder.weight, net.decoder.bias  # [E, code, D], [E, 1, D]
    resid = (x - (torch.bmm(mu, W) + b)).square().sum(-1)
    trace = (logvar.exp().unsqueeze(-1) * W.unsqueeze(1).square()).sum((-2, -1))
    ell = -(resid + trace) / (2 * s**2) - D * math.log(s) - D / 2 * math.log(2 * math.pi)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), kl)
    # Monte Carlo over the reparameterisation: M draws of eps for each of the 5 samples
    M = 40000
    eps = torch.randn(E, 5 * M, code, dtype=torch.double, generator=torch.Generator().manual_seed(1))
    xs = x.repeat_interleave(M, dim=1)
    loss, kl_rep = net.neg_elbo(xs, eps)
    torch.testing.assert_close(kl_rep, kl.mean(-1))
    z = mu.repeat_interleave(M, 1) + (0.5 * logvar).exp().repeat_interleave(M, 1) * eps
    ll = net.log_likelihood(xs, net.decode(z))  # log p(x | z) of each draw
    # the -ELBO per member (averaged over the 5 samples), within 4 Monte Carlo errors
    want = (kl - ell).mean(-1)
    assert ((loss - want).abs() < 4 * ll.std(-1) / math.sqrt(5 * M)).all()
    # and the expected log-likelihood alone, per sample
    ll = ll.reshape(E, 5, M)
    stderr = ll.std(-1) / math.sqrt(M)
    assert ((ll.mean(-1) - ell).abs() < 4 * stderr).all()
    assert (stderr < 0.02 * ell.abs()).all()  # ... small enough for the check to bite


def test_learned_decoder_std_is_a_trained_parameter_and_bernoulli_reads_pixels_as_probabilities():
    net = REGISTRY.create("vae", latent_dim=2, width=8, depth=1)
    ds = type("D", (), {"kind": "vector", "shape": (2,)})()
    net.bind(ds)
    G = net.generator((2,), gens([0]))
    assert "log_std" in dict(G.named_parameters())
    img = REGISTRY.create("vae_dcgan", latent_dim=4, width=4, likelihood="bernoulli")
    img.bind(type("D", (), {"kind": "image", "shape": (1, 8, 8)})())
    Gi = img.generator((1, 8, 8), gens([0]))
    x = torch.ones(1, 3, 1, 8, 8)  # white pixels: log p = sum log sigmoid(logits)
    logits = torch.zeros(1, 3, 64)
    torch.testing.assert_close(Gi.log_likelihood(x, logits), torch.full((1, 3), 64 * math.log(0.5)))
    samples = Gi(torch.randn(1, 3, 4))
    assert samples.shape == (1, 3, 1, 8, 8) and samples.abs().max() <= 1


# --- a fit, through the trainer -------------------------------------------------------------


def single_gaussian_suite(sample="draw", seeds=(0,), iterations=1500):
    return {
        "base": {"dataset": {"name": "ring", "modes": 1, "radius": 2.0, "std": 0.5},
                 "objective": "none",
                 "model": {"name": "vae", "latent_dim": 2, "width": 32, "depth": 1,
                           "sample": sample},
                 "optimizer": {"lr_g": 3e-3},
                 "training": {"iterations": iterations, "batch_size": 128},
                 "evaluation": {"every": iterations, "samples": 4000, "metrics": ["hq_fraction"]}},
        "grid": {"seed": list(seeds)},
    }


def fake(root, r):
    return np.load(RunDir(root, r.suite, r.run_id).path / "samples.npz")["fake"]


def test_a_vae_fit_to_one_gaussian_recovers_its_mean_and_variance(tmp_path):
    (r,) = parse_suite(single_gaussian_suite()).runs
    (summary,) = train_group([r], tmp_path, CPU)
    assert summary["status"] == "done"
    x = fake(tmp_path, r)  # decoder draws at prior draws
    np.testing.assert_allclose(x.mean(0), [2.0, 0.0], atol=0.05)
    np.testing.assert_allclose(x.var(0), [0.25, 0.25], rtol=0.15)
    rows = RunDir(tmp_path, r.suite, r.run_id).read_metrics()
    # -ELBO near the data's entropy (2-D Gaussian of std 0.5: log(2 pi e 0.25) = 1.45 nats)
    assert rows[-1]["g_loss"] == pytest.approx(math.log(2 * math.pi * math.e * 0.25), abs=0.15)
    assert rows[-1]["kl"] >= 0


# --- members ------------------------------------------------------------------------------


@pytest.mark.parametrize("name,shape,kw", [
    ("vae", (2,), {"latent_dim": 2, "width": 8, "depth": 2}),
    ("vae_dcgan", (3, 8, 8), {"latent_dim": 4, "width": 4, "likelihood": "gaussian"}),
])
def test_a_member_of_a_vae_ensemble_is_the_network_alone(name, shape, kw):
    """Losses and gradients of member e of an ensemble equal those of e built alone."""
    model = REGISTRY.create(name, **kw)
    model.bind(type("D", (), {"kind": "image" if len(shape) == 3 else "vector", "shape": shape})())
    seeds = [3, 5]
    group = model.generator(shape, gens(seeds))
    x = torch.rand(2, 6, *shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    eps = torch.randn(2, 6, model.code_dim, generator=torch.Generator().manual_seed(1))
    loss, _ = group.neg_elbo(x, eps)
    grads = torch.autograd.grad(loss.sum(), list(group.parameters()))
    for e, s in enumerate(seeds):
        alone = model.generator(shape, gens([s]))
        loss_a, _ = alone.neg_elbo(x[e:e + 1], eps[e:e + 1])
        grads_a = torch.autograd.grad(loss_a.sum(), list(alone.parameters()))
        torch.testing.assert_close(loss[e:e + 1], loss_a, rtol=1e-5, atol=1e-5)
        for ga, gb in zip(grads, grads_a):
            torch.testing.assert_close(ga[e:e + 1], gb, rtol=1e-4, atol=1e-5)


def test_a_member_of_a_vae_run_ensemble_equals_the_run_alone_and_resumes(tmp_path):
    runs = parse_suite(single_gaussian_suite(seeds=(0, 1), iterations=40)).runs
    for r in runs:  # evaluations at 20 and 40 steps
        r.config["evaluation"]["every"] = 20
    train_group(runs, tmp_path / "group", CPU)
    for r in runs:
        train_group([r], tmp_path / "alone", CPU)
        np.testing.assert_allclose(fake(tmp_path / "group", r), fake(tmp_path / "alone", r),
                                   rtol=1e-4, atol=1e-5)
    assert not np.allclose(fake(tmp_path / "group", runs[0]), fake(tmp_path / "group", runs[1]))
    # interrupted after the first evaluation, then resumed: the uninterrupted result
    part = tmp_path / "part"
    train_group(runs, part, CPU, keep_checkpoint=True, checkpoint_every_s=0)
    for r in runs:
        rd = RunDir(part, r.suite, r.run_id)
        assert rd.checkpoint_path.is_file()
        rd.summary_path.unlink()
        (rd.path / "samples.npz").unlink()
    out = train_group(runs, part, CPU)
    assert all(s["resumed_from"] == 20 for s in out)
    for r in runs:
        np.testing.assert_array_equal(fake(tmp_path / "group", r), fake(part, r))


def test_a_diverging_vae_member_is_recorded_and_the_other_goes_on(tmp_path):
    d = single_gaussian_suite(seeds=(0,), iterations=20)
    d["grid"]["optimizer.lr_g"] = [1e-3, 10.0]
    d["base"]["optimizer"] = {"name": "sgd"}
    runs = parse_suite(d).runs
    out = train_group(runs, tmp_path, CPU)
    assert sorted(s["status"] for s in out) == ["diverged", "done"]


def test_draws_sample_with_the_latents_noise_and_means_do_not():
    model = REGISTRY.create("vae", latent_dim=2, width=8, depth=1, sample="draw")
    model.bind(type("D", (), {"kind": "vector", "shape": (2,)})())
    assert model.latent_dim == 4  # code and observation noise
    G = model.generator((2,), gens([0]))
    z = torch.randn(1, 5, 4)
    noiseless = z.clone()
    noiseless[..., 2:] = 0
    with torch.no_grad():
        assert not torch.allclose(G(z), G(noiseless))
        torch.testing.assert_close(G(noiseless), G.decode(z[..., :2]))


# --- suites -------------------------------------------------------------------------------


def test_vae_runs_name_no_objective_and_show_how_they_sample(tmp_path):
    d = single_gaussian_suite(sample="mean")
    d["table"] = {"rows": ["objective", "model"], "columns": ["dataset"]}
    d["cases"] = [{"model.sample": "draw"}]
    runs = parse_suite(d).runs
    assert [r.labels["model"] for r in runs] == ["vae(sample=mean)", "vae(sample=draw)"]
    assert runs[0].labels["objective"] == "none" and runs[0].config["objective"] is None


@pytest.mark.parametrize("over,where,what", [
    ({"objective": "nonsaturating"}, "base.objective", "set objective: none"),
    ({"regularizer": "r1"}, "base.regularizer", "no critic to regularize"),
    ({"scheme": {"name": "unrolled", "k": 2}}, "base.scheme", "default alternating"),
    ({"scheme": {"name": "alternating", "g_steps": 2}}, "base.scheme", "default alternating"),
    ({"evaluation": {"metrics": ["critic_gap"]}}, "base.evaluation.metrics[0]",
     "reads the training critic"),
    ({"model": {"name": "mlp"}}, "base.objective", "name an objective"),
    ({"model": {"name": "vae", "likelihood": "poisson"}}, "base.model", "likelihood must be"),
])
def test_suites_that_do_not_fit_a_vae_are_refused(over, where, what):
    d = single_gaussian_suite()
    d["base"] = {**copy.deepcopy(d["base"]), **over}
    with pytest.raises(SuiteError) as err:
        parse_suite(d)
    assert any(p == where and what in m for p, m in err.value.problems), err.value.problems


def test_build_gives_the_vae_no_critic_optimiser():
    (r,) = parse_suite(single_gaussian_suite()).runs
    b = build([r], CPU)
    assert b.game.opt_d is None and b.game.d_params == [] and b.game.objective_of(0) is None


def test_the_command_line_refuses_a_vae_with_an_objective_and_writes_nothing(tmp_path, capsys):
    import yaml

    from ganbench.cli import main

    d = single_gaussian_suite()
    d["base"]["objective"] = "minimax"
    path = tmp_path / "vae.yaml"
    path.write_text(yaml.safe_dump(d))
    assert main(["run", str(path), "--results", str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "vae.yaml: base.objective: model 'vae': a VAE has no critic" in err
    assert not (tmp_path / "r").exists()
