"""FID, KID and precision/recall, computed by torch-fidelity's ``calculate_metrics`` on
features from ``metrics/features.py`` (``raw``, ``classifier`` or ``inception``, through
torch-fidelity's own extractors and caches) or from any other registered feature extractor
(``ganbench.features``: ``dinov2_vitl14``, ``clip_vitb32``, a plug-in), whose features
torch-fidelity then reads through the identity extractor.

``features="auto"`` means ``raw`` for vector data and ``inception`` for images. Features of
the real samples are cached on disk by torch-fidelity under <cache>/fidelity, named by a
hash of the samples and the extractor (so each dataset's real statistics are computed
once); features of generated samples are kept in a private temporary folder for the
other metrics evaluating the same samples (FID, KID, precision and recall then extract
them once). ``raw`` features are not cached: recomputing them is cheaper than a file.

For the members of a group (``evaluate_many``) with ``classifier`` features, the dataset
classifier (trained once per dataset, then cached in the process and on disk) extracts the
features of every member's generated and real samples in one batched pass, kept in memory
for the other fidelity metrics of the same group; torch-fidelity then computes each
member's metrics on them (through the identity extractor), as a per-member call would.

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

from ganbench.metrics.base import EvalContext, Metric, MetricError, ResultEntry
from ganbench.metrics.distances import flat_pair
from ganbench.metrics.features import (
    CLASSIFIER_NAME,
    FEATURES,
    INCEPTION_NAME,
    RAW_NAME,
    Samples,
    calculate_metrics,
    inception_weights,
    register_extractors,
    to_rgb_uint8,
)
from ganbench.metrics.registry import REGISTRY
from ganbench.seeding import derive
from ganbench.util.missing import note_missing

_fake_dir: Path | None = None
_last_prc: dict[tuple, dict[str, float]] = {}
# classifier features of the last group's sample sets, by (classifier, samples) digests
_features: dict[tuple[str, str], Tensor] = {}


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
        from ganbench.registry import registry, unknown_message

        # through the registry (it imports ganbench.features): the extractors read metrics'
        # classifiers, so metrics import no extractor module
        extractors = registry("features")
        if features != "auto" and features not in extractors:
            raise ValueError(unknown_message("feature extractor", str(features),
                                             ["auto", *extractors.names()]))
        self.features = features
        self.weights = inception_weights

    @staticmethod
    def extractor(name: str):
        """A registered feature extractor (``ganbench.features``)."""
        from ganbench.registry import registry

        return registry("features").create(name)

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
                if not note_missing("Inception-v3 weights", str(exc)):  # a dry run goes on
                    return f"needs Inception-v3 weights: {exc}"
        if feats not in FEATURES:  # another registered extractor: its own checks
            why = self.extractor(feats).applies(dataset)
            return None if why is None else f"features {feats!r}: {why}"
        return None

    def feature_space(self, dataset) -> dict[str, object]:
        feats = self._resolve(dataset)  # 'auto' as this dataset resolves it
        return {"extractor": feats, **self.extractor(feats).preprocessing()}

    def compute(self, fake: Tensor, ctx: EvalContext, **flags) -> dict[str, float]:
        register_extractors()
        real = ctx.real
        flat_pair(real, fake)  # shapes agree, finite
        feats = self._resolve(ctx.dataset, fake.ndim)
        dev = torch.device(ctx.device)
        n = min(real.shape[0], fake.shape[0])
        kw = _settings(ctx, n, flags)
        if feats not in FEATURES:  # a registered extractor: its features are the input
            ext = self.extractor(feats)
            kw.update(feature_extractor=RAW_NAME, cache=False, batch_size=max(n, 1))
            return calculate_metrics(input1=Samples(ext.extract(fake, ctx)),
                                     input2=Samples(ext.extract(real, ctx)), **kw)
        if feats == "raw":
            kw.update(feature_extractor=RAW_NAME, cache=False, batch_size=max(n, 1))
            x_real, x_fake, ident = real, fake, ""
        else:
            if feats == "classifier":
                if ctx.dataset is None or not ctx.dataset.num_classes:
                    raise MetricError("classifier features need a dataset with labels")
                from ganbench.metrics.classifiers import dataset_classifier

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
            from ganbench.metrics.classifiers import default_cache_dir

            store = Path(ctx.cache_dir or default_cache_dir()) / "fidelity"
            real_name = f"ganbench-real-{_digest(real)}-{ident}"
            fake_name = f"ganbench-fake-{_digest(fake)}-{ident}"
            root = _stage(store, real_name, fake_name)
            kw.update(cache=True, cache_root=str(root), input1_cache_name=fake_name,
                      input2_cache_name=real_name)
        # torch-fidelity convention: input1 = generated, input2 = real
        out = calculate_metrics(input1=Samples(x_fake), input2=Samples(x_real), **kw)
        if feats != "raw":
            _persist(root, store, real_name)
        return out

    def compute_many(self, fakes: list[Tensor], ctxs: list[EvalContext], **flags
                     ) -> list[dict[str, float]]:
        """``compute`` for the members of a group. With classifier features, the dataset
        classifier (trained once per dataset and cached) extracts the features of every
        member's samples in one batched pass, and torch-fidelity computes each member's
        metrics on those features."""
        feats = self._classifier_features(fakes, ctxs)
        if feats is None:
            return [self.compute(f, c, **flags) for f, c in zip(fakes, ctxs)]
        register_extractors()
        out = []
        for (f_fake, f_real), ctx in zip(feats, ctxs):
            n = min(f_real.shape[0], f_fake.shape[0])
            kw = _settings(ctx, n, flags)
            # the features are the input: the identity extractor passes them on
            kw.update(feature_extractor=RAW_NAME, cache=False, batch_size=max(n, 1))
            out.append(calculate_metrics(input1=Samples(f_fake), input2=Samples(f_real), **kw))
        return out

    def _classifier_features(self, fakes: list[Tensor], ctxs: list[EvalContext]
                             ) -> list[tuple[Tensor, Tensor]] | None:
        """(fake, real) classifier features per member, or None where the members do not all
        use classifier features of one dataset on one device."""
        if len(fakes) != len(ctxs):
            raise ValueError(f"{len(fakes)} sample sets for {len(ctxs)} contexts")
        c0 = ctxs[0] if ctxs else None
        if c0 is None or any(self._resolve(c.dataset, f.ndim) != "classifier"
                             or c.dataset is not c0.dataset or c.cache_dir != c0.cache_dir
                             or torch.device(c.device) != torch.device(c0.device)
                             for f, c in zip(fakes, ctxs)):
            return None
        if c0.dataset is None or not c0.dataset.num_classes:
            raise MetricError("classifier features need a dataset with labels")
        for f, c in zip(fakes, ctxs):
            flat_pair(c.real, f)  # shapes agree, finite
        from ganbench.metrics.classifiers import dataset_classifier

        dev = torch.device(c0.device)
        net = dataset_classifier(c0.dataset, cache_dir=c0.cache_dir, device=dev)
        ident = _digest(torch.cat([p.detach().flatten().cpu()
                                   for p in net.state_dict().values()]))
        pairs = [((ident, _digest(f)), (ident, _digest(c.real))) for f, c in zip(fakes, ctxs)]
        sets = {}  # distinct sample sets (members often share their real samples)
        for (kf, kr), f, c in zip(pairs, fakes, ctxs):
            sets.setdefault(kf, f)
            sets.setdefault(kr, c.real)
        todo = [k for k in sets if k not in _features]
        if todo:
            x = torch.cat([sets[k].float() for k in todo])
            with torch.no_grad():
                was = net.training
                net.eval()
                feats = torch.cat([net.features(x[i:i + 8192].to(dev)).double().cpu()
                                   for i in range(0, x.shape[0], 8192)])
                net.train(was)
            _features.update(zip(todo, feats.split([sets[k].shape[0] for k in todo])))
        for k in [k for k in _features if k not in sets][:max(0, len(_features) - len(sets))]:
            del _features[k]
        return [(_features[kf], _features[kr]) for kf, kr in pairs]


def _settings(ctx: EvalContext, n: int, flags: dict) -> dict:
    """calculate_metrics settings shared by every feature extractor."""
    kw: dict = dict(cuda=torch.device(ctx.device).type == "cuda", verbose=False,
                    save_cpu_ram=True, rng_seed=derive(ctx.seed, "fidelity") % 2**32, **flags)
    if flags.get("kid"):
        kw["kid_subset_size"] = min(1000, n)
    return kw


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
    from ganbench.util.atomic import atomic_write_bytes

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
    entries = (ResultEntry("fid", "min", "", "Frechet distance of Gaussians fitted to features"),)
    band = (0.01, 0.1)
    default = True

    def applies(self, dataset) -> str | None:
        why = super().applies(dataset)
        if why is None and dataset is not None and self._resolve(dataset) == "raw" \
                and dataset.dim < 2:
            return ("needs samples of 2 or more dimensions with raw features (a Gaussian fit "
                    "of 1-D points has no covariance matrix); use wasserstein on 1-D data")
        return why

    def __call__(self, fake, ctx):
        from torch_fidelity import KEY_METRIC_FID

        return {"fid": float(self.compute(fake, ctx, fid=True)[KEY_METRIC_FID])}

    def evaluate_many(self, fakes, ctxs):
        from torch_fidelity import KEY_METRIC_FID

        return [{"fid": float(o[KEY_METRIC_FID])}
                for o in self.compute_many(fakes, ctxs, fid=True)]


@REGISTRY.register("kid", description="kernel (cubic polynomial) MMD^2 of features over random "
                   "subsets, mean and std (torch-fidelity)", reference=REF_KID)
class KID(_Fidelity):
    entries = (ResultEntry("kid", "min", "", "kernel MMD^2 of features, mean over subsets"),
               ResultEntry("kid_std", None, "", "std of kid over subsets"))
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

    def evaluate_many(self, fakes, ctxs):
        from torch_fidelity import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD

        return [{"kid": float(o[KEY_METRIC_KID_MEAN]), "kid_std": float(o[KEY_METRIC_KID_STD])}
                for o in self.compute_many(fakes, ctxs, kid=True, kid_subsets=self.subsets)]


class _PRC(_Fidelity):
    band = (0.02, 0.0)

    def __init__(self, features: str = "auto", inception_weights: str = "", neighborhood: int = 3):
        super().__init__(features, inception_weights)
        if neighborhood < 1:
            raise ValueError("neighborhood must be >= 1")
        self.k = neighborhood

    def prc(self, fake: Tensor, ctx: EvalContext) -> dict[str, float]:
        return self.prc_many([fake], [ctx])[0]

    def prc_many(self, fakes: list[Tensor], ctxs: list[EvalContext]) -> list[dict[str, float]]:
        # precision and recall come from one computation: remember the last call's
        keys = [(_digest(f), _digest(c.real), self._resolve(c.dataset, f.ndim), self.k,
                 self.weights, c.seed, c.cache_dir) for f, c in zip(fakes, ctxs)]
        todo = [i for i, k in enumerate(keys) if k not in _last_prc]
        if todo:
            new = self.compute_many([fakes[i] for i in todo], [ctxs[i] for i in todo],
                                    prc=True, prc_neighborhood=self.k)
            _last_prc.update(zip([keys[i] for i in todo], new))
        out = [_last_prc[k] for k in keys]
        for k in [k for k in _last_prc if k not in set(keys)]:
            del _last_prc[k]
        return out


@REGISTRY.register("precision", description="fraction of generated samples inside the real "
                   "k-NN feature manifold (torch-fidelity)", reference=REF_PRC)
class Precision(_PRC):
    entries = (ResultEntry("precision", "max", "fraction",
                     "share of generated samples inside the real k-NN manifold"),)

    def __call__(self, fake, ctx):
        from torch_fidelity import KEY_METRIC_PRECISION

        return {"precision": float(self.prc(fake, ctx)[KEY_METRIC_PRECISION])}

    def evaluate_many(self, fakes, ctxs):
        from torch_fidelity import KEY_METRIC_PRECISION

        return [{"precision": float(o[KEY_METRIC_PRECISION])} for o in self.prc_many(fakes, ctxs)]


@REGISTRY.register("recall", description="fraction of real samples inside the generated "
                   "k-NN feature manifold (torch-fidelity)", reference=REF_PRC)
class Recall(_PRC):
    entries = (ResultEntry("recall", "max", "fraction",
                     "share of real samples inside the generated k-NN manifold"),)

    def __call__(self, fake, ctx):
        from torch_fidelity import KEY_METRIC_RECALL

        return {"recall": float(self.prc(fake, ctx)[KEY_METRIC_RECALL])}

    def evaluate_many(self, fakes, ctxs):
        from torch_fidelity import KEY_METRIC_RECALL

        return [{"recall": float(o[KEY_METRIC_RECALL])} for o in self.prc_many(fakes, ctxs)]
