"""Values from different feature extractors are never compared in one column: results
record each metric's extractor, and a table refuses a column that mixes them (exit 2)."""

import pytest
import torch

from ganbench.cli import main
from ganbench.execute import run_suite
from ganbench.features import REGISTRY, FeatureExtractor
from ganbench.report.tables import build_table
from ganbench.results import load_results
from ganbench.suite import parse_suite


class Doubled(FeatureExtractor):
    """The samples scaled by 2 (another feature space, no weights)."""

    def extract(self, x, ctx):
        return 2 * x.reshape(x.shape[0], -1).double()


@pytest.fixture
def doubled():
    REGISTRY.register("doubled_test", description="test extractor", reference="-")(Doubled)
    yield
    del REGISTRY._entries["doubled_test"]


def suite(features_b: str) -> dict:
    ev = {"every": 4, "samples": 64}
    return {"name": "mix", "base": {
        "model": {"name": "mlp", "latent_dim": 2, "width": 8, "depth": 1},
        "training": {"iterations": 4, "batch_size": 16},
        "evaluation": {**ev, "metrics": [{"name": "coverage", "features": "raw"}]}},
        "grid": {"objective": ["nonsaturating"]},
        "cases": [{"objective": "hinge",
                   "evaluation": {**ev, "metrics": [{"name": "coverage",
                                                     "features": features_b}]}}],
        "table": {"rows": ["objective"], "columns": ["dataset"], "metrics": ["coverage"]}}


def test_a_column_of_two_feature_spaces_is_refused(doubled, tmp_path, capsys):
    torch.set_num_threads(1)
    run_suite(parse_suite(suite("doubled_test")), tmp_path, device="cpu", progress=False)
    df = load_results(tmp_path / "mix")
    assert sorted(df["features:coverage"]) == ["doubled_test", "raw"]  # recorded per run
    with pytest.raises(ValueError, match="different feature extractors .*doubled_test, raw"):
        build_table(df, ["objective"], ["dataset"], ["coverage"])
    assert main(["table", str(tmp_path / "mix"), "--rows", "objective", "--metrics",
                 "coverage"]) == 2
    assert "different feature extractors" in capsys.readouterr().err


def test_one_feature_space_tables_as_before(tmp_path):
    torch.set_num_threads(1)
    run_suite(parse_suite(suite("raw")), tmp_path, device="cpu", progress=False)
    t = build_table(load_results(tmp_path / "mix"), ["objective"], ["dataset"], ["coverage"])
    assert t is not None


def test_each_run_records_its_extractor_and_preprocessing_with_auto_resolved(tmp_path):
    """The summary names the extractor a metric used ('auto' as the dataset resolved it)
    and its preprocessing; load_results gives both per entry."""
    import json

    from ganbench.results import RunDir
    torch.set_num_threads(1)
    raw = suite("raw")
    raw["base"]["evaluation"]["metrics"] = [{"name": "coverage", "features": "raw"},
                                            {"name": "fid", "features": "auto"}]
    raw["cases"] = []
    s = parse_suite(raw)
    run_suite(s, tmp_path, device="cpu", progress=False)
    summary = RunDir(tmp_path, "mix", s.runs[0].run_id).read_summary()
    assert summary["features"]["fid"]["extractor"] == "raw"  # auto on 2-D samples
    assert summary["features"]["coverage"] == {"extractor": "raw", "input_size": None,
                                               "resize": "none", "normalisation": "none",
                                               "dim": None}
    df = load_results(tmp_path / "mix")
    assert df["features:fid"].tolist() == ["raw"]
    assert json.loads(df["preprocessing:coverage"].iloc[0])["resize"] == "none"


def test_one_extractor_name_with_two_preprocessings_is_refused(tmp_path):
    """Two runs whose extractor has one name but recorded different preprocessing (another
    version of a plug-in, say) are not compared in one column."""
    import pandas as pd
    df = pd.DataFrame({"objective": ["a", "b"], "dataset": ["ring", "ring"], "seed": [0, 0],
                       "status": ["done", "done"], "metric:coverage": [0.5, 0.6],
                       "features:coverage": ["mine", "mine"],
                       "preprocessing:coverage": ['{"resize": "none"}',
                                                  '{"resize": "bilinear to 64"}']})
    with pytest.raises(ValueError, match="different preprocessing of its features"):
        build_table(df, ["objective"], ["dataset"], ["coverage"])
    df["preprocessing:coverage"] = '{"resize": "none"}'
    assert build_table(df, ["objective"], ["dataset"], ["coverage"]) is not None


def test_check_fails_a_baseline_recorded_with_another_extractor(doubled, tmp_path, capsys):
    """The extractor is part of the metric's config: a baseline of raw-feature coverage
    against fresh results in another feature space is CONFIG CHANGED (exit 1), never a
    comparison of their values."""
    torch.set_num_threads(1)
    one = suite("raw")
    one["cases"] = []
    run_suite(parse_suite(one), tmp_path / "a", device="cpu", progress=False)
    assert main(["baseline", str(tmp_path / "a" / "mix"), "-o", str(tmp_path / "b.json")]) == 0
    other = suite("raw")
    other["cases"] = []
    other["base"]["evaluation"]["metrics"] = [{"name": "coverage", "features": "doubled_test"}]
    run_suite(parse_suite(other), tmp_path / "c", device="cpu", progress=False)
    capsys.readouterr()
    assert main(["check", str(tmp_path / "c" / "mix"), "--baseline",
                 str(tmp_path / "b.json")]) == 1
    out = capsys.readouterr().out
    assert "CONFIG CHANGED" in out and "doubled_test" in out
