"""The DINOv2 and CLIP extractors through their real loading paths, offline: a local
torch.hub repository (hubconf.py) whose entry point reads its checkpoint from the hub
folder ganbench points torch.hub at, and a TorchScript file in CLIP's format (its state
dict is what torch-fidelity rebuilds the model from). The networks are tiny and written
by the test; the features must equal the extractor's declared preprocessing applied by
hand (uint8 RGB, TF1-compatible bilinear resize, the declared mean and std)."""

import warnings

import pytest
import torch
import torchvision
from torch import nn
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from ganbench.features import REGISTRY, WEIGHTS_ENV
from ganbench.features.base import to_rgb_uint8
from ganbench.features.extractors import CLIP_FILE, DINO_FILE, DINO_REPO
from ganbench.metrics import EvalContext

HUBCONF = '''
import torch
from torch import nn


def net():
    return nn.Sequential(nn.Conv2d(3, 2, 5, stride=4), nn.Tanh(), nn.AdaptiveAvgPool2d(2),
                         nn.Flatten())


def dinov2_vitl14():
    # as the real hubconf does: the checkpoint comes from torch.hub's own folder
    m = net()
    path = torch.hub.get_dir() + "/checkpoints/dinov2_vitl14_pretrain.pth"
    m.load_state_dict(torch.load(path, weights_only=True))
    return m
'''


def images(n=6, side=28, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, side, side, generator=g) * 2 - 1


def by_hand(x, size, mean, std, net):
    b = interpolate_bilinear_2d_like_tensorflow1x(to_rgb_uint8(x).float(), size=(size, size),
                                                  align_corners=False)
    b = torchvision.transforms.functional.normalize(b, [255 * m for m in mean],
                                                    [255 * s for s in std])
    with torch.no_grad():
        return net(b).double()


def test_dinov2_loads_a_local_hub_repository_and_its_checkpoint(tmp_path, monkeypatch):
    repo = tmp_path / DINO_REPO
    repo.mkdir(parents=True)
    (repo / "hubconf.py").write_text(HUBCONF)
    ns: dict = {}
    exec(HUBCONF, ns)
    torch.manual_seed(1)
    net = ns["net"]()
    (tmp_path / DINO_FILE).parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), tmp_path / DINO_FILE)
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    hub_before = torch.hub.get_dir()
    x = images()
    got = REGISTRY.create("dinov2_vitl14").extract(x, EvalContext(real=x))
    want = by_hand(x, 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), net.eval())
    assert got.dtype == torch.float64 and got.shape == (6, 8)
    assert torch.allclose(got, want, atol=1e-6)
    assert torch.hub.get_dir() == hub_before  # the hub folder is restored
    # another checkpoint gives other features: the file is what was read
    torch.manual_seed(2)
    torch.save(ns["net"]().state_dict(), tmp_path / DINO_FILE)
    assert not torch.allclose(REGISTRY.create("dinov2_vitl14").extract(x, EvalContext(real=x)),
                              want, atol=1e-3)


def tiny_clip(path):
    """A ViT-shaped CLIP image tower (width 64, one layer, patch 16, 32 x 32 input) saved as
    TorchScript with CLIP's key names (text_projection gives the embedding's size)."""
    from torch_fidelity.feature_extractor_clip import CLIPVisual

    torch.manual_seed(3)
    visual = CLIPVisual(8, 32, 1, 64, 16).visual

    class Whole(nn.Module):
        def __init__(self):
            super().__init__()
            self.visual = visual
            self.text_projection = nn.Parameter(torch.randn(64, 8))

        def forward(self, x):
            return x * self.text_projection.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(Whole(), torch.zeros(1)).save(str(path))
    return visual.eval()


def test_clip_loads_a_torchscript_file_in_clips_format(tmp_path, monkeypatch):
    visual = tiny_clip(tmp_path / CLIP_FILE)
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    x = images(seed=4)
    got = REGISTRY.create("clip_vitb32").extract(x, EvalContext(real=x))
    # torch-fidelity resizes to the model's own resolution (224 for the real ViT-B/32)
    want = by_hand(x, 32, (0.48145466, 0.4578275, 0.40821073),
                   (0.26862954, 0.26130258, 0.27577711), visual)
    # torch-fidelity rounds CLIP's weights through fp16 (as OpenAI's loader does)
    assert got.shape == (6, 8) and torch.allclose(got, want, atol=2e-3)
    assert (got - want).abs().max() < 0.01 * (got - got.mean(0)).abs().max()


def test_fid_in_a_pretrained_feature_space_runs_from_the_local_files(tmp_path, monkeypatch):
    """FID with features: clip_vitb32 reads the file above; identical sets give 0."""
    from ganbench.metrics import REGISTRY as METRICS
    tiny_clip(tmp_path / CLIP_FILE)
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    x, y = images(40, seed=5), images(40, seed=6)
    fid = METRICS.create("fid", features="clip_vitb32")
    same = fid(x, EvalContext(real=x, seed=0))["fid"]
    apart = fid(x, EvalContext(real=-y, seed=0))["fid"]
    assert same == pytest.approx(0.0, abs=1e-3) and apart > same
