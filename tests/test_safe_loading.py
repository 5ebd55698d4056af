"""Nothing ganbench reads can run code: torch.load is weights-only everywhere (also inside
torch-fidelity), and a planted file is refused or replaced, never executed. (CIFAR batches,
pickles by format, are checked against their published MD5 before they are unpickled:
tests/data/test_formats.py.)"""

import os
import re
import warnings
from pathlib import Path

import pytest
import torch

from ganbench.data.synthetic import GaussianMixture
from ganbench.metrics import classifiers as C
from ganbench.metrics.base import EvalContext
from ganbench.metrics.features import FORCE_WEIGHTS_ONLY, INCEPTION_FILE
from ganbench.metrics.registry import REGISTRY

PACKAGE = Path(__file__).parents[1] / "ganbench"


class Planted:
    """Unpickling this creates ``marker``: proof that the file's code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_every_torch_load_in_the_package_is_weights_only():
    calls = []
    for p in PACKAGE.rglob("*.py"):
        text = p.read_text()
        for m in re.finditer(r"torch\.load\(", text):
            depth, i = 1, m.end()
            while depth:  # the call's text, to its closing parenthesis
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            calls.append((p.name, text[m.start():i]))
    assert calls  # the search finds the loads there are
    assert all("weights_only=True" in call for _, call in calls), calls


class SmallMixture(GaussianMixture):
    """Few labelled points, so that each classifier trains in about a second."""

    def labeled(self, split):
        x, y = self.sample_labeled(200, torch.Generator().manual_seed(int(split == "test")), "cpu")
        return x.float(), y.long()


def test_a_planted_classifier_cache_is_not_run_but_trained_again(tmp_path):
    ds = SmallMixture(torch.tensor([[0.0, 0.0], [3.0, 0.0]]), 0.2)
    net = C.dataset_classifier(ds, cache_dir=tmp_path)
    (cache,) = (tmp_path / "classifiers").glob("*.pt")
    marker = tmp_path / "ran"
    torch.save({"state": Planted(marker), "test_accuracy": 1.0}, cache)
    C._MEMO.clear()  # a new process: the classifier would come back from disk
    with pytest.warns(UserWarning, match="ignoring the classifier cache"):
        again = C.dataset_classifier(ds, cache_dir=tmp_path)
    assert not marker.exists()
    x = ds.sample(50, torch.Generator().manual_seed(1))
    assert torch.equal(net(x), again(x))  # trained again, deterministically
    # and the cache was rewritten with tensors only: it loads without a warning
    assert torch.load(cache, weights_only=True)["test_accuracy"] == again.test_accuracy
    C._MEMO.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C.dataset_classifier(ds, cache_dir=tmp_path)
    # tensors of another shape: refused before anything is copied into the network
    before = {k: v.clone() for k, v in net.state_dict().items()}
    wrong = tmp_path / "wrong.pt"
    torch.save({"state": {k: v[..., :1] for k, v in before.items()}, "test_accuracy": 0.5}, wrong)
    with pytest.warns(UserWarning, match="do not fit"):
        assert not C._load_cached(net, wrong)
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())


def test_planted_inception_weights_are_not_run(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    weights = tmp_path / INCEPTION_FILE
    torch.save({"Conv2d_1a_3x3.conv.weight": Planted(marker)}, weights)
    monkeypatch.delenv(FORCE_WEIGHTS_ONLY, raising=False)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 1, 8, 8, generator=g) * 2 - 1
    kid = REGISTRY.create("kid", inception_weights=str(weights), subsets=2)
    with pytest.raises(Exception, match="[Ww]eights only"):
        kid(x, EvalContext(real=x, cache_dir=tmp_path / "cache"))
    assert not marker.exists()
    assert FORCE_WEIGHTS_ONLY not in os.environ  # torch's switch is set only meanwhile
