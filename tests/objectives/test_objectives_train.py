"""Every objective and every regularizer trains briefly on the ring without NaN, presets
resolve to their regularizer, and the objective listing renders."""

from __future__ import annotations

from ganbench import objectives
from ganbench.cli import main
from ganbench.execute import run_suite
from ganbench.models import REGISTRY as MODELS
from ganbench.objectives.regularizers import REGISTRY as REGULARIZERS
from ganbench.report.text import listing
from ganbench.results import RunDir
from ganbench.suite import parse_suite

TINY = {
    "model": {"name": "mlp", "latent_dim": 4, "width": 16, "depth": 1},
    "optimizer": {"lr_g": 1e-3, "lr_d": 1e-3},
    "training": {"iterations": 30, "batch_size": 32},
    "evaluation": {"every": 30, "samples": 100, "metrics": ["modes"]},
}


def tiny_model_for(objective: str) -> dict:
    """A tiny MLP whose packing (labels, codes) is what the objective needs."""
    needs = objectives.REGISTRY.entry(objective).meta.get("requires_packing")
    name = next(e.name for e in MODELS.entries()
                if getattr(e.obj, "packing", None) == needs and e.name.startswith("mlp"))
    params = MODELS.entry(name).params()
    return {"name": name, **{k: v for k, v in TINY["model"].items() if k in params}}


def test_every_objective_and_regularizer_trains_without_nan(tmp_path):
    suite = parse_suite({
        "name": "zoo",
        "base": TINY,
        "cases": [{"objective": o, "model": tiny_model_for(o)} for o in objectives.REGISTRY.names()]
        # each regularizer once, on an objective it is commonly paired with
        + [{"objective": "wgan" if r in ("weight_clip", "gp", "gp_one_sided") else "nonsaturating",
            "regularizer": r} for r in REGULARIZERS.names()],
    })
    out = run_suite(suite, tmp_path, device="cpu", progress=False)
    assert out["done"] == len(suite.runs) and out["diverged"] == out["failed"] == 0
    seen_regs = set()
    for r in suite.runs:
        d = RunDir(tmp_path, r.suite, r.run_id)
        assert d.read_summary()["status"] == "done", r.labels
        rows = d.read_metrics()
        assert rows and all(abs(row["d_loss"]) < 1e6 and abs(row["g_loss"]) < 1e6 for row in rows)
        seen_regs.update(t.name for t in r.regularizers())  # a preset may name several
    assert seen_regs == set(REGULARIZERS.names())


def test_presets_fill_in_their_regularizer():
    runs = parse_suite({"base": TINY, "grid": {"objective": ["wgan", "wgan_gp", "nonsaturating_r1"]},
                        "cases": [{"objective": "wgan_gp", "regularizer": {"name": "gp", "weight": 1}},
                                  {"objective": "wgan", "regularizer": "none"}]}).runs
    got = [(r.labels["objective"], r.config["regularizer"]) for r in runs]
    assert got == [
        ("wgan", {"name": "weight_clip", "params": {"weight": 0.0, "clip": 0.01}}),
        ("wgan_gp", {"name": "gp", "params": {"weight": 10.0}}),
        ("nonsaturating_r1", {"name": "r1", "params": {"weight": 10.0}}),
        ("wgan_gp", {"name": "gp", "params": {"weight": 1.0}}),  # an explicit one wins
        ("wgan", None),
    ]


def test_markdown_listing_shows_each_objectives_divergence(capsys):
    assert main(["list", "objectives", "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert text == listing("objectives", "markdown") + "\n"
    lines = text.splitlines()
    assert "| name | divergence | activation | description | reference |" in lines
    for name in objectives.REGISTRY.names():
        obj = objectives.get(name)
        row = next(x for x in lines if x.startswith(f"| {name} |"))
        cells = [c.strip().replace("\\|", "|") for c in row.strip("| ").split(" | ")]
        assert cells[:3] == [name, type(obj).divergence, type(obj).activation]
        assert cells[4] == objectives.REGISTRY.entry(name).reference
