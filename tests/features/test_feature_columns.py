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
