"""`ganbench export --to tensorboard | mlflow`: results written through the results helpers
(no training), exported, and read back with each tracker's own reader."""

import json
import sys

import numpy as np
import pytest
import torch

from ganbench.cli import main
from ganbench.data import REGISTRY as DATASETS
from ganbench.report import export as ex
from ganbench.results import RunDir, write_suite_record
from ganbench.suite import parse_suite


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """2 objectives x 2 seeds on the ring, 3 evaluations each, samples near the modes."""
    root = tmp_path_factory.mktemp("export")
    s = parse_suite({"name": "exp", "base": {"evaluation": {"samples": 200, "metrics": ["modes"]}},
                     "grid": {"dataset": ["ring"], "objective": ["minimax", "hinge"], "seed": [0, 1]},
                     "table": {"rows": ["objective"], "columns": ["dataset"], "metrics": ["modes"]}})
    write_suite_record(s, root)
    g = torch.Generator().manual_seed(0)
    for i, r in enumerate(s.runs):
        d = RunDir(root, s.name, r.run_id)
        d.write_spec(r.to_dict())
        d.write_metrics([{"step": step, "wall_s": step / 10, "modes": float(i + step // 10),
                          "d_loss": 1.0 + i / 10 + step / 1000} for step in (10, 20, 30)])
        d.write_samples(fake=DATASETS.create("ring").sample(200, g).numpy().astype(np.float32))
        d.write_summary({"status": "done", "metrics": {"modes": float(i + 3)}, "group": "g",
                         "timings": {"steps_per_s": 10.0}})
    return root / s.name, s


def test_tensorboard_event_files_read_back(results, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    root, suite = results
    out = tmp_path / "tb"
    for _ in range(2):  # a second export replaces the first, it adds nothing
        assert main(["export", str(root), "--to", "tensorboard", str(out)]) == 0
    folders = sorted(p for p in (out / "exp").iterdir())
    assert [p.name for p in folders] == sorted(r.run_id for r in suite.runs)
    for i, r in enumerate(suite.runs):
        assert len(list((out / "exp" / r.run_id).glob("events.out.tfevents.*"))) == 1
        acc = EventAccumulator(str(out / "exp" / r.run_id), size_guidance={"scalars": 0, "images": 0})
        acc.Reload()
        tags = acc.Tags()
        assert {"modes", "d_loss", "final/modes"} <= set(tags["scalars"])
        modes = acc.Scalars("modes")
        assert [e.step for e in modes] == [10, 20, 30]
        assert [e.value for e in modes] == [float(i + 1), float(i + 2), float(i + 3)]
        assert [e.value for e in acc.Scalars("final/modes")] == [float(i + 3)]
        (image,) = acc.Images("samples")
        assert image.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n" and image.width > 100
        # the full config as hyper-parameters (the HParams plugin's session start)
        content = acc.PluginTagToContent("hparams")
        start = next(plugin_data_pb2.HParamsPluginData.FromString(c).session_start_info
                     for c in content.values()
                     if plugin_data_pb2.HParamsPluginData.FromString(c).HasField("session_start_info"))
        hp = {k: v.string_value or v.number_value for k, v in start.hparams.items()}
        assert hp["objective.name"] == r.config["objective"]["name"]
        assert hp["seed"] == str(r.seed) or hp["seed"] == r.seed
        assert hp["training.iterations"] in (str(r.config["training"]["iterations"]),
                                             r.config["training"]["iterations"])
        assert hp["status"] == "done"


def test_mlflow_local_store_reads_back(results, tmp_path):
    import mlflow

    root, suite = results
    store = tmp_path / "mlruns"
    for _ in range(2):  # a second export replaces the first
        assert main(["export", str(root), "--to", "mlflow", str(store)]) == 0
    uri = f"sqlite:///{store.resolve() / 'mlflow.db'}"  # a folder is a local SQLite store
    mlflow.set_tracking_uri(uri)
    df = mlflow.search_runs(experiment_names=["exp"])
    assert len(df) == len(suite.runs)
    by_id = df.set_index("tags.ganbench.run_id")
    client = mlflow.tracking.MlflowClient(uri)
    for i, r in enumerate(suite.runs):
        row = by_id.loc[r.run_id]
        assert row["metrics.final/modes"] == float(i + 3)
        assert row["metrics.modes"] == float(i + 3)  # the last logged value
        assert row["params.objective.name"] == r.config["objective"]["name"]
        assert row["params.seed"] == str(r.seed)
        assert row["params.dataset.name"] == "ring"
        assert row["tags.ganbench.status"] == "done" and row["status"] == "FINISHED"
        hist = client.get_metric_history(row["run_id"], "modes")
        assert sorted((m.step, m.value) for m in hist) == [(10, i + 1), (20, i + 2), (30, i + 3)]
        assert [a.path for a in client.list_artifacts(row["run_id"])] == ["samples.png"]
        png = next((store / "artifacts").rglob(f"{row['run_id']}/**/samples.png")).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"  # inside the store's folder, nowhere else


def test_missing_extra_and_bad_target_exit_2(results, tmp_path, capsys, monkeypatch):
    root, _ = results
    out = tmp_path / "nothing"
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    assert main(["export", str(root), "--to", "mlflow", str(out)]) == 2
    err = capsys.readouterr().err
    assert 'pip install "ganbench[mlflow]"' in err and not out.exists()
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    assert main(["export", str(root), "--to", "tensorboard", str(out)]) == 2
    assert 'pip install "ganbench[tensorboard]"' in capsys.readouterr().err and not out.exists()
    assert main(["export", str(root), "--to", "wandb", str(out)]) == 2
    assert "valid: tensorboard, mlflow" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "absent"), "--to", "tensorboard", str(out)]) == 2
    assert not out.exists()
    monkeypatch.delitem(sys.modules, "tensorboard")
    monkeypatch.delitem(sys.modules, "mlflow")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for target in ("tensorboard", "mlflow"):  # a file where a folder belongs: exit 2, untouched
        assert main(["export", str(root), "--to", target, str(a_file)]) == 2
        assert "is a file; give a folder" in capsys.readouterr().err
        assert a_file.read_text() == "x"


def test_export_params_are_the_flattened_config(results):
    root, suite = results
    from ganbench.report.data import SuiteData

    data = SuiteData.load(root)
    run = ex._collect(data, suite.runs[0].run_id)
    assert run.params["objective.name"] == suite.runs[0].config["objective"]["name"]
    # a list of settings is one parameter, as JSON
    assert json.loads(run.params["evaluation.metrics"]) == suite.runs[0].config["evaluation"]["metrics"]
    assert run.params["seed"] == str(suite.runs[0].seed)
