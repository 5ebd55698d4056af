"""FID, KID and precision/recall, computed by torch-fidelity's ``calculate_metrics`` on
features from ``metrics/features.py`` (``raw``, ``classifier`` or ``inception``).

``features="auto"`` means ``raw`` for vector data and ``inception`` for images. Features of
the real samples are cached on disk by torch-fidelity under <cache>/fidelity, named by a
hash of the samples and the extractor (so each dataset's real statistics are computed
once); features of generated samples are kept in a private temporary folder for the
other metrics evaluating the same samples (FID, KID, precision and recall then extract
them once). ``raw`` features are not cached: recomputing them is cheaper than a file.

- ``fid``: Heusel et al. 2017, the Frechet distance of Gaussians fitted to the features.
- ``kid`` (+ ``kid_std``): Binkowski et al. 2018, unbiased MMD^2 with a cubic polynomial
  kernel, mean (and std) over random subsets.
- ``precision``, ``recall``: Kynkaanniemi et al. 2019, k-NN manifold estimates (k = 3).
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from pathlib import Path

import torch
from torch import Tensor

from ganbench.metrics.base import Entry, EvalContext, Metric, MetricError
from ganbench.metrics.distances import flat_pair
from ganbench.metrics.features import (
    CLASSIFIER_NAME,
    FEATURES,
    INCEPTION_NAME,
    RAW_NAME,
    Samples,
    inception_weights,
    register_extractors,
    to_rgb_uint8,
)
from ganbench.metrics.registry import REGISTRY
from ganbench.seeding import derive

_fake_dir: Path | None = None
_last_prc: dict[tuple, dict[str, float]] = {}


def _fake_cache() -> Path:
    """A private folder for generated samples' features, removed when the process ends."""
    global _fake_dir
    if _fake_dir is None:
        _fake_dir = Path(tempfile.mkdtemp(prefix="ganbench-fidelity-"))
        atexit.register(shutil.rmtree, _fake_dir, True)
    return _fake_dir


def _digest(x: Tensor) -> str:
    t = x.detach().cpu().contiguous()
    return hashlib.sha256(t.numpy().tobytes() + str(tuple(t.shape)).encode()).hexdigest()[:20]


class _Fidelity(Metric):
    """Shared plumbing: choose the extractor, prepare inputs, call calculate_metrics."""

    def __init__(self, features: str = "auto", inception_weights: str = ""):
        if features not in FEATURES:
            raise ValueError(f"features must be one of {', '.join(FEATURES)}, got {features!r}")
        self.features = features
        self.weights = inception_weights

    def _resolve(self, dataset, ndim: int | None = None) -> str:
        if self.features != "auto":
            return self.features
        if dataset is not None:
            return "inception" if dataset.kind == "image" else "raw"
        return "inception" if ndim == 4 else "raw"

    def applies(self, dataset) -> str | None:
        feats = self._resolve(dataset)
        if feats == "classifier" and (dataset is None or not dataset.num_classes):
            return "needs a dataset with labels for its classifier features"
        if feats == "inception" and dataset is not None:
            try:
                inception_weights(self.weights)
            except MetricError as exc:
                return f"needs Inception-v3 weights: {exc}"
        return None

    def compute(self, fake: Tensor, ctx: EvalContext, **flags) -> dict[str, float]:
        import torch_fidelity

        register_extractors()
        real = ctx.real
        flat_pair(real, fake)  # shapes agree, finite
        feats = self._resolve(ctx.dataset, fake.ndim)
        dev = torch.device(ctx.device)
        kw: dict = dict(cuda=dev.type == "cuda", verbose=False, save_cpu_ram=True,
                        rng_seed=derive(ctx.seed, "fidelity") % 2**32, **flags)
        n = min(real.shape[0], fake.shape[0])
        if flags.get("kid"):
            kw["kid_subset_size"] = min(1000, n)
        if feats == "raw":
            kw.update(feature_extractor=RAW_NAME, cache=False, batch_size=max(n, 1))
            x_real, x_fake, ident = real, fake, ""
        else:
            if feats == "classifier":
                if ctx.dataset is None or not ctx.dataset.num_classes:
                    raise MetricError("classifier features need a dataset with labels")
                from ganbench.classifiers import dataset_classifier

                net = dataset_classifier(ctx.dataset, cache_dir=ctx.cache_dir, device=dev)
                kw.update(feature_extractor=CLASSIFIER_NAME, ganbench_classifier=net,
                          batch_size=1024)
                ident = _digest(torch.cat([p.detach().flatten().cpu()
                                           for p in net.state_dict().values()]))
                x_real, x_fake = real.float(), fake.float()
            else:
                path = inception_weights(self.weights)
                kw.update(feature_extractor=INCEPTION_NAME, batch_size=64,
                          feature_extractor_weights_path=str(path))
                st = path.stat()
                ident = hashlib.sha256(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
                                       .encode()).hexdigest()[:12]
                x_real, x_fake = to_rgb_uint8(real), to_rgb_uint8(fake)
            from ganbench.classifiers import default_cache_dir

            store = Path(ctx.cache_dir or default_cache_dir()) / "fidelity"
            real_name = f"ganbench-real-{_digest(real)}-{ident}"
            fake_name = f"ganbench-fake-{_digest(fake)}-{ident}"
            root = _stage(store, real_name, fake_name)
            kw.update(cache=True, cache_root=str(root), input1_cache_name=fake_name,
                      input2_cache_name=real_name)
        # torch-fidelity convention: input1 = generated, input2 = real
        out = torch_fidelity.calculate_metrics(input1=Samples(x_fake), input2=Samples(x_real), **kw)
        if feats != "raw":
            _persist(root, store, real_name)
        return out


def _stage(store: Path, real_name: str, fake_name: str) -> Path:
    """torch-fidelity has one cache folder for both inputs. Use the private temporary one,
    holding only this call's sample sets, with the real features copied in from ``store``."""
    root = _fake_cache()
    for f in root.iterdir():
        if not f.name.startswith((real_name, fake_name)):
            f.unlink(missing_ok=True)
    if store.is_dir():
        for f in store.glob(real_name + "*"):
            if not (root / f.name).exists():
                shutil.copyfile(f, root / f.name)
    return root


def _persist(root: Path, store: Path, real_name: str) -> None:
    """Keep the real features torch-fidelity computed (written atomically)."""
    from ganbench.results import atomic_write_bytes

    for f in root.glob(real_name + "*"):
        if not (store / f.name).exists():
            atomic_write_bytes(store / f.name, f.read_bytes())


REF_FID = "Heusel et al. 2017, GANs trained by a two time-scale update rule (NeurIPS)"
REF_KID = "Binkowski et al. 2018, Demystifying MMD GANs (ICLR)"
REF_PRC = "Kynkaanniemi et al. 2019, Improved precision and recall metric (NeurIPS)"


@REGISTRY.register("fid", description="Frechet distance of Gaussians fitted to features "
                   "(raw coordinates for vectors, Inception-v3 for images; torch-fidelity)",
                   reference=REF_FID)
class FID(_Fidelity):
    entries = (Entry("fid", "min", "", "Frechet distance of Gaussians fitted to features"),)
    band = (0.01, 0.1)
    default = True

    def __call__(self, fake, ctx):
        from torch_fidelity import KEY_METRIC_FID

        return {"fid": float(self.compute(fake, ctx, fid=True)[KEY_METRIC_FID])}


@REGISTRY.register("kid", description="kernel (cubic polynomial) MMD^2 of features over random "
                   "subsets, mean and std (torch-fidelity)", reference=REF_KID)
class KID(_Fidelity):
    entries = (Entry("kid", "min", "", "kernel MMD^2 of features, mean over subsets"),
               Entry("kid_std", None, "", "std of kid over subsets"))
    band = (0.001, 0.1)

    def __init__(self, features: str = "auto", inception_weights: str = "", subsets: int = 100):
        super().__init__(features, inception_weights)
        if subsets < 1:
            raise ValueError("kid needs subsets >= 1")
        self.subsets = subsets

    def __call__(self, fake, ctx):
        from torch_fidelity import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD

        out = self.compute(fake, ctx, kid=True, kid_subsets=self.subsets)
        return {"kid": float(out[KEY_METRIC_KID_MEAN]), "kid_std": float(out[KEY_METRIC_KID_STD])}


class _PRC(_Fidelity):
    band = (0.02, 0.0)

    def __init__(self, features: str = "auto", inception_weights: str = "", neighborhood: int = 3):
        super().__init__(features, inception_weights)
        if neighborhood < 1:
            raise ValueError("neighborhood must be >= 1")
        self.k = neighborhood

    def prc(self, fake: Tensor, ctx: EvalContext) -> dict[str, float]:
        # precision and recall come from one computation: remember the last one
        key = (_digest(fake), _digest(ctx.real), self._resolve(ctx.dataset, fake.ndim), self.k,
               self.weights, ctx.seed)
        if key not in _last_prc:
            _last_prc.clear()
            _last_prc[key] = self.compute(fake, ctx, prc=True, prc_neighborhood=self.k)
        return _last_prc[key]


@REGISTRY.register("precision", description="fraction of generated samples inside the real "
                   "k-NN feature manifold (torch-fidelity)", reference=REF_PRC)
class Precision(_PRC):
    entries = (Entry("precision", "max", "fraction",
                     "share of generated samples inside the real k-NN manifold"),)

    def __call__(self, fake, ctx):
        from torch_fidelity import KEY_METRIC_PRECISION

        return {"precision": float(self.prc(fake, ctx)[KEY_METRIC_PRECISION])}


@REGISTRY.register("recall", description="fraction of real samples inside the generated "
                   "k-NN feature manifold (torch-fidelity)", reference=REF_PRC)
class Recall(_PRC):
    entries = (Entry("recall", "max", "fraction",
                     "share of real samples inside the generated k-NN manifold"),)

    def __call__(self, fake, ctx):
        from torch_fidelity import KEY_METRIC_RECALL

        return {"recall": float(self.prc(fake, ctx)[KEY_METRIC_RECALL])}
