"""ganbench bench --lazy: throughput rows for no penalty and each lazy interval (no timing
is asserted: speed claims are measured, not tested)."""

import json

import pytest
import torch

from ganbench.ci.bench_lazy import lazy_bench
from ganbench.cli import main

TINY = dict(model={"name": "mlp", "latent_dim": 2, "width": 8, "depth": 1}, batch_size=16)


def test_lazy_bench_measures_no_penalty_then_each_interval():
    torch.set_num_threads(1)
    res = lazy_bench([1, 4, 4], members=2, steps=2, warmup=0, device="cpu", **TINY)
    assert [k for k, _ in res.rows] == [0, 1, 4]  # duplicates measured once
    assert all(s > 0 for _, s in res.rows)
    assert "every" in res.render() and "1.00x" in res.render()


def test_the_cli_reports_it_and_refuses_a_zero_interval(capsys):
    model = json.dumps(TINY["model"])
    assert main(["bench", "--lazy", "2", "--members", "2", "--steps", "1", "--warmup", "0",
                 "--model", model, "--batch-size", "16", "--device", "cpu", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r[0] for r in out["rows"]] == [0, 2] and out["regularizer"] == "r1"
    with pytest.raises(SystemExit) as exc:  # argparse's usage error, before anything runs
        main(["bench", "--lazy", "0", "--device", "cpu"])
    assert exc.value.code == 2 and "--lazy: 0 is outside" in capsys.readouterr().err
