"""The shipped feature extractors: ``raw``, ``classifier``, ``inception``, ``dinov2_vitl14``
and ``clip_vitb32`` (the last two as Stein et al. 2023 and torch-fidelity 0.4 use them).

Pretrained weights come from $GANBENCH_WEIGHTS only (``base.weights_path``):

- inception: ``weights-inception-2015-12-05-6726825d.pth`` (torch-fidelity's TF-FID port);
- dinov2_vitl14: a torch.hub folder, ``hub/facebookresearch_dinov2_main/`` (the repository,
  e.g. from ``git clone https://github.com/facebookresearch/dinov2``) beside
  ``hub/checkpoints/dinov2_vitl14_pretrain.pth`` (its released weights), loaded with
  ``torch.hub.load(..., source="local")`` and that hub folder as torch's hub directory;
- clip_vitb32: OpenAI's TorchScript file ``ViT-B-32.pt``, read by torch-fidelity's CLIP.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch import Tensor

from ganbench.features.base import (
    REGISTRY,
    FeatureExtractor,
    batched,
    to_rgb_uint8,
    weights_dir,
    weights_path,
)
from ganbench.metrics.base import EvalContext, MetricError
from ganbench.metrics.features import INCEPTION_ENV, INCEPTION_FILE, INCEPTION_URL

DINO_REPO = "hub/facebookresearch_dinov2_main"
DINO_FILE = "hub/checkpoints/dinov2_vitl14_pretrain.pth"
DINO_HOW = ("git clone https://github.com/facebookresearch/dinov2 into hub/"
            "facebookresearch_dinov2_main and download dinov2_vitl14_pretrain.pth from "
            "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/ into hub/checkpoints")
CLIP_FILE = "ViT-B-32.pt"
CLIP_HOW = ("OpenAI's CLIP ViT-B/32 TorchScript file, from https://openaipublic.azureedge.net/"
            "clip/models/40d3657158fe5ed1ef4b9e44bac0ef3ff9a1a6b3bb4c66b7d1e6d9ef6e9e3d28/"
            "ViT-B-32.pt (clip.load's file)")
IMAGENET = "ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225)"


@REGISTRY.register("raw", description="the samples themselves as flat vectors (float64)",
                   reference="-")
class Raw(FeatureExtractor):
    def extract(self, x: Tensor, ctx: EvalContext) -> Tensor:
        return x.reshape(x.shape[0], -1).double()


@REGISTRY.register("classifier", description="penultimate layer of the dataset's classifier, "
                   "trained on its labelled real data (cached on disk)", reference="-")
class Classifier(FeatureExtractor):
    weights = "trained by ganbench on the dataset's labelled data (cache folder)"

    def applies(self, dataset) -> str | None:
        if dataset is not None and not dataset.num_classes:
            return "needs a dataset with labels for its classifier"
        return None

    def extract(self, x: Tensor, ctx: EvalContext) -> Tensor:
        if ctx.dataset is None or not ctx.dataset.num_classes:
            raise MetricError("classifier features need a dataset with labels")
        from ganbench.metrics.classifiers import dataset_classifier

        dev = torch.device(ctx.device)
        net = dataset_classifier(ctx.dataset, cache_dir=ctx.cache_dir, device=dev)
        was = net.training
        net.eval()
        try:
            return batched(net.features, x.float(), dev, 8192)
        finally:
            net.train(was)


@REGISTRY.register("inception", description="Inception-v3 pool features (2048), the TF-FID "
                   "network as torch-fidelity ports it", reference="Szegedy et al. 2016; "
                   "Heusel et al. 2017")
class Inception(FeatureExtractor):
    input_size, dim, accepts = 299, 2048, "image"
    resize = "bilinear to 299 x 299 (TF1-compatible, torch-fidelity)"
    normalisation = "uint8 RGB, scaled to [-1, 1] inside the network"
    weights = (f"$GANBENCH_WEIGHTS/{INCEPTION_FILE}, else ${INCEPTION_ENV}, else torch's hub "
               f"checkpoints folder (from {INCEPTION_URL})")

    def check_weights(self) -> None:
        self.path()

    def path(self) -> Path:
        from ganbench.metrics.features import inception_weights

        root = weights_dir()
        if root is not None and (root / INCEPTION_FILE).is_file():
            return root / INCEPTION_FILE
        return inception_weights()

    def extract(self, x: Tensor, ctx: EvalContext) -> Tensor:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        from ganbench.metrics.features import weights_only_loads

        with weights_only_loads():
            net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                              feature_extractor_weights_path=str(self.path()))
        dev = torch.device(ctx.device)
        net.to(dev)
        return batched(lambda b: net(b)[0], to_rgb_uint8(x), dev, 64)


@contextlib.contextmanager
def _hub_dir(path: Path):
    before = torch.hub.get_dir()
    torch.hub.set_dir(str(path))
    try:
        yield
    finally:
        torch.hub.set_dir(before)


@REGISTRY.register("dinov2_vitl14", description="DINOv2 ViT-L/14 features (1024), which Stein "
                   "et al. recommend for the Frechet distance", reference="Oquab et al. 2024 "
                   "(TMLR); Stein et al. 2023, Exposing flaws of generative model evaluation "
                   "metrics (NeurIPS)")
class DinoV2(FeatureExtractor):
    input_size, dim, accepts = 224, 1024, "image"
    resize = "bilinear to 224 x 224 (TF1-compatible, as torch-fidelity)"
    normalisation = f"uint8 RGB, then {IMAGENET} (x 255)"
    weights = f"$GANBENCH_WEIGHTS/{DINO_REPO} and $GANBENCH_WEIGHTS/{DINO_FILE}"

    def check_weights(self) -> None:
        weights_path(DINO_REPO + "/hubconf.py", DINO_HOW)
        weights_path(DINO_FILE, DINO_HOW)

    def extract(self, x: Tensor, ctx: EvalContext) -> Tensor:
        import torchvision
        from torch_fidelity.interpolate_compat_tensorflow import (
            interpolate_bilinear_2d_like_tensorflow1x,
        )

        self.check_weights()
        root = weights_dir()
        with _hub_dir(root / "hub"):  # the checkpoint is found there, never fetched
            net = torch.hub.load(str(root / DINO_REPO), "dinov2_vitl14", source="local",
                                 trust_repo=True)
        dev = torch.device(ctx.device)
        net.to(dev).eval().requires_grad_(False)

        def run(b: Tensor) -> Tensor:
            b = interpolate_bilinear_2d_like_tensorflow1x(b.float(), size=(224, 224),
                                                          align_corners=False)
            b = torchvision.transforms.functional.normalize(
                b, (255 * 0.485, 255 * 0.456, 255 * 0.406), (255 * 0.229, 255 * 0.224, 255 * 0.225))
            return net(b)

        return batched(run, to_rgb_uint8(x), dev, 64)


@REGISTRY.register("clip_vitb32", description="CLIP ViT-B/32 image embeddings (512), "
                   "torch-fidelity's CLIP", reference="Radford et al. 2021 (ICML); "
                   "Kynkaanniemi et al. 2023 (ICLR)")
class ClipViTB32(FeatureExtractor):
    input_size, dim, accepts = 224, 512, "image"
    resize = "bilinear to 224 x 224 (TF1-compatible, torch-fidelity's CLIP)"
    normalisation = ("uint8 RGB, then CLIP's mean (0.481, 0.458, 0.408) and std "
                     "(0.269, 0.261, 0.276) (x 255)")
    weights = f"$GANBENCH_WEIGHTS/{CLIP_FILE}"

    def check_weights(self) -> None:
        weights_path(CLIP_FILE, CLIP_HOW)

    def extract(self, x: Tensor, ctx: EvalContext) -> Tensor:
        from torch_fidelity.feature_extractor_clip import FeatureExtractorCLIP

        net = FeatureExtractorCLIP("clip-vit-b-32", ["clip"], feature_extractor_weights_path=str(
            weights_path(CLIP_FILE, CLIP_HOW)))
        dev = torch.device(ctx.device)
        net.to(dev)
        return batched(lambda b: net(b)[0], to_rgb_uint8(x), dev, 64)
