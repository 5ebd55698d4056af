import json
import subprocess
import sys

import yaml

from ganbench.ci.bench_suite import bench_suite
from ganbench.execute.grouping import group_runs
from ganbench.suite import parse_suite

CLI = "import sys; from ganbench.cli import main; sys.exit(main())"

SUITE = {"name": "bs",
         "base": {"model": {"name": "mlp", "latent_dim": 4, "width": 8, "depth": 1},
                  "training": {"iterations": 40, "batch_size": 16},
                  "evaluation": {"metrics": ["modes"]}},
         "grid": {"objective": ["nonsaturating", "hinge"], "seed": [0, 1]},
         "cases": [{"objective": "nonsaturating", "scheme": "simultaneous"}]}


def test_bench_suite_times_every_group_both_ways():
    s = parse_suite(SUITE)
    res = bench_suite(s, steps=2, warmup=1, device="cpu")
    assert res.runs == len(s.runs) == 6
    assert len(res.groups) == len(group_runs(s.runs)) == 2  # alternating mixes; simultaneous apart
    t = res.totals()
    assert t["speedup"] > 0 and t["grouped_run_steps_per_s"] > 0
    # the estimate scales the timed steps up to the suite's 40 iterations
    grouped = sum(g.grouped_s for g in res.groups)
    assert abs(t["estimated_training_s_grouped"] - grouped * 40 / 2) < 1e-9
    assert "grouped / one by one" in res.render()


def test_bench_suite_cli_json(tmp_path):
    path = tmp_path / "bs.yaml"
    path.write_text(yaml.safe_dump(SUITE))
    out = subprocess.run([sys.executable, "-c", CLI, "bench", "--suite", str(path),
                          "--steps", "1", "--warmup", "0", "--device", "cpu", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["totals"]["runs"] == 6 and len(data["groups"]) == 2
