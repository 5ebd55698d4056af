"""DCGAN convolutional generator and critic (Radford et al. 2016) in the ensemble convention.

Every parameter and buffer carries the member axis first. Inside the network an ensemble
batch [E, N, C, H, W] is packed as [N, E*C, H, W] and each convolution runs once with
``groups=E`` (the HFTA trick: E independent networks as one grouped kernel); batch and
layer norm act per member on the packed channels. Member e only ever touches slice e of
each tensor, so a member trained in a group is the same network trained alone.

Sizes: the generator projects the code to an s0 x s0 map (s0 = 4, or 7 for 28 px) and
doubles it with stride-2 transposed convolutions; the critic mirrors it. Supported: square
images whose side halves down to s0 in {4..7}, e.g. 8, 16, 28, 32, 64. As in DCGAN the
critic's first layer has no normalisation, so at 8 px (one stage) only ``spectral`` changes
the critic. ``dcgan_conditional`` adds a label embedding to the generator's code and a
projection term to the critic, with labels packed as in ``models/conditional.py``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.models.base import Model
from ganbench.models.layers import PacCritic, member_normal, spectral_normalize
from ganbench.models.registry import REGISTRY

# regularizers that differentiate the critic per sample: batch norm would couple samples
GRADIENT_PENALTIES = {"gp", "gp_one_sided", "r1", "r2", "dragan"}
CRITIC_NORMS = ("auto", "none", "batch", "layer", "spectral")
GENERATOR_NORMS = ("batch", "none")


def pack(x: Tensor) -> Tensor:
    """[E, N, C, H, W] -> [N, E*C, H, W]."""
    e, n = x.shape[:2]
    return x.transpose(0, 1).reshape(n, e * x.shape[2], *x.shape[3:])


def unpack(x: Tensor, members: int) -> Tensor:
    """[N, E*C, H, W] -> [E, N, C, H, W]."""
    n, ec = x.shape[:2]
    return x.reshape(n, members, ec // members, *x.shape[2:]).transpose(0, 1)


def plan_sizes(side: int) -> tuple[int, int]:
    """(s0, number of stride-2 stages) such that side = s0 * 2**stages, 4 <= s0 <= 7."""
    s0, stages = side, 0
    while s0 % 2 == 0 and s0 // 2 >= 4:
        s0, stages = s0 // 2, stages + 1
    if stages == 0 or s0 > 7:
        raise ValueError(f"dcgan supports square images of side s0 * 2**k with 4 <= s0 <= 7 "
                         f"and k >= 1 (8, 16, 28, 32, 64, ...), got {side}")
    return s0, stages


class EnsembleConv2d(nn.Module):
    """Grouped (transposed) convolution on packed inputs; weight [E, Cout, Cin, k, k]
    ([E, Cin, Cout, k, k] when transposed, as PyTorch orders it), DCGAN init N(0, 0.02)."""

    def __init__(self, gens: list[torch.Generator], cin: int, cout: int, kernel: int,
                 stride: int = 1, padding: int = 0, transposed: bool = False,
                 bias: bool = True, spectral_norm: bool = False):
        super().__init__()
        if spectral_norm and transposed:
            raise ValueError("spectral norm is implemented for (critic) convolutions only")
        self.cin, self.cout, self.stride, self.padding = cin, cout, stride, padding
        self.transposed = transposed
        shape = (cin, cout, kernel, kernel) if transposed else (cout, cin, kernel, kernel)
        self.weight = nn.Parameter(member_normal(gens, shape, 0.0, 0.02))
        self.bias = nn.Parameter(torch.zeros(len(gens), cout)) if bias else None
        self.spectral_norm = spectral_norm
        if spectral_norm:
            u = torch.stack([torch.randn(cout, generator=g) for g in gens])
            self.register_buffer("u", F.normalize(u, dim=-1))

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight
        e = w.shape[0]
        if self.spectral_norm:  # the matrix [Cout, Cin*k*k] of each member, as [E, in, out]
            mat = spectral_normalize(w.reshape(e, self.cout, -1).transpose(1, 2), self.u,
                                     update=self.training)
            w = mat.transpose(1, 2).reshape(w.shape)
        w = w.reshape(e * w.shape[1], *w.shape[2:])
        b = None if self.bias is None else self.bias.reshape(-1)
        if self.transposed:
            return F.conv_transpose2d(x, w, b, self.stride, self.padding, groups=e)
        return F.conv2d(x, w, b, self.stride, self.padding, groups=e)


class EnsembleBatchNorm(nn.Module):
    """Batch norm per member and channel on packed inputs; affine [E, C], running stats [E, C]."""

    def __init__(self, gens: list[torch.Generator], channels: int, momentum: float = 0.1,
                 eps: float = 1e-5):
        super().__init__()
        e = len(gens)
        self.weight = nn.Parameter(member_normal(gens, (channels,), 1.0, 0.02))
        self.bias = nn.Parameter(torch.zeros(e, channels))
        self.register_buffer("running_mean", torch.zeros(e, channels))
        self.register_buffer("running_var", torch.ones(e, channels))
        self.momentum, self.eps = momentum, eps

    def forward(self, x: Tensor) -> Tensor:
        # the flat views share storage with the [E, C] buffers, so updates land in them
        return F.batch_norm(x, self.running_mean.view(-1), self.running_var.view(-1),
                            self.weight.reshape(-1), self.bias.reshape(-1), self.training,
                            self.momentum, self.eps)


class EnsembleLayerNorm(nn.Module):
    """Layer norm over (C, H, W) of each sample and member, per-channel affine [E, C]:
    group norm with one group per member on the packed channels."""

    def __init__(self, gens: list[torch.Generator], channels: int, eps: float = 1e-5):
        super().__init__()
        e = len(gens)
        self.weight = nn.Parameter(torch.ones(e, channels))
        self.bias = nn.Parameter(torch.zeros(e, channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        e = self.weight.shape[0]
        return F.group_norm(x, e, self.weight.reshape(-1), self.bias.reshape(-1), self.eps)


def norm_layer(kind: str, gens: list[torch.Generator], channels: int) -> nn.Module:
    if kind == "batch":
        return EnsembleBatchNorm(gens, channels)
    if kind == "layer":
        return EnsembleLayerNorm(gens, channels)
    return nn.Identity()


class EnsembleEmbedding(nn.Module):
    """A per-member table [E, K, D]; one-hot (or soft) codes [E, N, K] -> [E, N, D]."""

    def __init__(self, gens: list[torch.Generator], classes: int, dim: int, std: float):
        super().__init__()
        self.weight = nn.Parameter(member_normal(gens, (classes, dim), 0.0, std))

    def forward(self, code: Tensor) -> Tensor:
        return torch.bmm(code, self.weight)


def _code(code: Tensor | None, conditional: bool) -> Tensor | None:
    if conditional and code is None:
        raise ValueError("this network is conditional: pass one-hot labels [E, N, K]")
    if not conditional and code is not None:
        raise ValueError("labels given to an unconditional network")
    return code


class DCGANGenerator(nn.Module):
    """z [E, N, latent] (+ one-hot labels [E, N, K]) -> images [E, N, C, H, W] in [-1, 1]."""

    def __init__(self, gens, latent_dim: int, shape: tuple[int, int, int], width: int,
                 norm: str = "batch", num_classes: int = 0):
        super().__init__()
        c, h, w = shape
        if h != w:
            raise ValueError(f"dcgan needs square images, got {h}x{w}")
        s0, stages = plan_sizes(h)
        chans = [width * 2 ** (stages - 1 - i) for i in range(stages)]  # at s0, 2*s0, ..., h/2
        self.num_classes = num_classes
        code = latent_dim
        if num_classes:  # conditioning: a learned label embedding concatenated to the code
            self.embed = EnsembleEmbedding(gens, num_classes, latent_dim, 1.0)
            code += latent_dim
        # "project and reshape": a transposed s0 x s0 convolution of the 1x1 code
        layers: list[nn.Module] = [EnsembleConv2d(gens, code, chans[0], s0, transposed=True),
                                   norm_layer(norm, gens, chans[0]), nn.ReLU()]
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [EnsembleConv2d(gens, a, b, 4, 2, 1, transposed=True),
                       norm_layer(norm, gens, b), nn.ReLU()]
        layers += [EnsembleConv2d(gens, chans[-1], c, 4, 2, 1, transposed=True), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, code: Tensor | None = None) -> Tensor:
        e = z.shape[0]
        if _code(code, self.num_classes > 0) is not None:
            z = torch.cat([z, self.embed(code)], dim=-1)
        x = pack(z[..., None, None])
        return unpack(self.net(x), e)


class DCGANCritic(nn.Module):
    """images [E, N, C, H, W] (+ one-hot labels [E, N, K]) -> raw outputs [E, N]. With
    labels, the projection critic of Miyato & Koyama 2018: psi(phi(x)) + <embed(y), phi(x)>."""

    def __init__(self, gens, shape: tuple[int, int, int], width: int, norm: str = "batch",
                 num_classes: int = 0):
        super().__init__()
        c, h, w = shape
        if h != w:
            raise ValueError(f"dcgan needs square images, got {h}x{w}")
        if norm not in CRITIC_NORMS[1:]:
            raise ValueError(f"critic norm must be one of {', '.join(CRITIC_NORMS[1:])}, got {norm!r}")
        s0, stages = plan_sizes(h)
        chans = [width * 2 ** i for i in range(stages)]  # at h/2, h/4, ..., s0
        sn = norm == "spectral"
        layers: list[nn.Module] = [EnsembleConv2d(gens, c, chans[0], 4, 2, 1, spectral_norm=sn),
                                   nn.LeakyReLU(0.2)]  # no norm on the first layer (DCGAN)
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [EnsembleConv2d(gens, a, b, 4, 2, 1, bias=norm != "batch", spectral_norm=sn),
                       norm_layer(norm, gens, b), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.out = EnsembleConv2d(gens, chans[-1], 1, s0, spectral_norm=sn)
        self.num_classes = num_classes
        if num_classes:
            self.embed = EnsembleEmbedding(gens, num_classes, chans[-1] * s0 * s0,
                                           1.0 / math.sqrt(chans[-1] * s0 * s0))

    def forward(self, x: Tensor, code: Tensor | None = None) -> Tensor:
        e = x.shape[0]
        h = self.features(pack(x))
        out = unpack(self.out(h), e).reshape(e, -1)  # [E, N]
        if _code(code, self.num_classes > 0) is not None:
            phi = unpack(h, e).flatten(2)  # [E, N, F]
            out = out + (self.embed(code) * phi).sum(-1)
        return out


def resolve_critic_norm(critic_norm: str, regularizers: str | tuple[str, ...] | None) -> str:
    """'auto': batch norm as in DCGAN, except layer norm when the run has a gradient
    penalty among its regularizers (batch norm makes each output depend on the whole
    batch, which the per-sample penalty does not expect; Gulrajani et al. 2017)."""
    if critic_norm != "auto":
        return critic_norm
    names = (regularizers,) if isinstance(regularizers, str) else tuple(regularizers or ())
    return "layer" if GRADIENT_PENALTIES & set(names) else "batch"


@REGISTRY.register(
    "dcgan",
    description="DCGAN conv generator and critic sized from the image shape (8..64 px); "
                "option: pack (PacGAN)",
    reference="Radford et al. 2016, DCGAN (ICLR); pack: Lin et al. 2018, PacGAN (NeurIPS)",
)
class DCGAN(Model):
    """``width``: channels of the generator's last hidden map and the critic's first (the
    others double per stage; DCGAN used 64 at 64 px). ``critic_norm``: none | batch | layer
    | spectral | auto: batch norm as in DCGAN, layer norm when one of the run's
    regularizers (given to ``critic``: ``reads_regularizers``) is a per-sample gradient
    penalty. ``pack``
    (PacGAN, Lin et al. 2018): the critic scores packs of m images stacked along the
    channel axis (m * C input channels), batch_size / m packs per batch (see models/mlp.py)."""

    num_classes = 0  # conditioning classes (the conditional variant sets them in bind)
    reads_regularizers = True  # critic_norm "auto" depends on them

    def __init__(self, latent_dim: int = 100, width: int = 64, critic_width: int = 0,
                 critic_norm: str = "auto", generator_norm: str = "batch", pack: int = 1):
        if latent_dim < 1 or width < 1 or critic_width < 0:
            raise ValueError("dcgan needs latent_dim, width >= 1 and critic_width >= 0")
        if pack < 1:
            raise ValueError(f"pack (samples per critic score) must be >= 1, got {pack}")
        if pack > 1 and self.packing is not None:
            raise ValueError("pack > 1 (PacGAN) is for unconditional models")
        if critic_norm not in CRITIC_NORMS:
            raise ValueError(f"critic_norm must be one of {', '.join(CRITIC_NORMS)}, got {critic_norm!r}")
        if generator_norm not in GENERATOR_NORMS:
            raise ValueError(f"generator_norm must be one of {', '.join(GENERATOR_NORMS)}, "
                             f"got {generator_norm!r}")
        self.latent_dim = latent_dim
        self.width = width
        self.critic_width = critic_width or width
        self.critic_norm = critic_norm
        self.generator_norm = generator_norm
        self.pack = self.samples_per_score = pack

    @staticmethod
    def _image_shape(shape) -> tuple[int, int, int]:
        if len(shape) != 3:
            raise ValueError(f"dcgan needs image data [C, H, W], got shape {tuple(shape)}")
        return tuple(int(s) for s in shape)

    def generator(self, shape, gens):
        return DCGANGenerator(gens, self.latent_dim, self._image_shape(shape), self.width,
                              self.generator_norm, self.num_classes)

    def critic(self, shape, gens, regularizers: tuple[str, ...] = ()):
        norm = resolve_critic_norm(self.critic_norm, regularizers)
        c, h, w = self._image_shape(shape)
        net = DCGANCritic(gens, (c * self.pack, h, w), self.critic_width, norm, self.num_classes)
        return net if self.pack == 1 else PacCritic(net, self.pack)


class PackedGenerator(nn.Module):
    """[z, onehot(c)] -> [flattened image, onehot(c)] (labels travel packed; see
    models/conditional.py)."""

    def __init__(self, net: DCGANGenerator, latent_dim: int):
        super().__init__()
        self.net, self.latent_dim = net, latent_dim

    def forward(self, zc: Tensor) -> Tensor:
        z, c = zc[..., :self.latent_dim], zc[..., self.latent_dim:]
        return torch.cat([self.net(z, c).flatten(2), c], dim=-1)


class PackedCritic(nn.Module):
    """[flattened image, onehot(c)] -> raw outputs [E, N]; the label columns are read
    detached, so input-gradient penalties act on the image alone."""

    def __init__(self, net: DCGANCritic, shape: tuple[int, int, int]):
        super().__init__()
        self.net, self.shape = net, shape
        self.dim = shape[0] * shape[1] * shape[2]

    def forward(self, xc: Tensor) -> Tensor:
        x = xc[..., :self.dim].reshape(*xc.shape[:2], *self.shape)
        return self.net(x, xc[..., self.dim:].detach())


@REGISTRY.register(
    "dcgan_conditional",
    description="class-conditional DCGAN: label-embedding generator, projection critic",
    reference="Radford et al. 2016; projection critic: Miyato & Koyama 2018 (ICLR)",
)
class ConditionalDCGAN(DCGAN):
    """The generator sees [z, embed(y)]; the critic is psi(phi(x)) + <embed(y), phi(x)>.
    Labels travel packed with latents and samples (``packing = "label"``)."""

    packing = "label"
    num_codes = 0

    def bind(self, dataset) -> None:
        self.sample_shape = self._image_shape(dataset.shape)
        if not dataset.num_classes:
            raise ValueError("dcgan_conditional needs a dataset with labels (num_classes)")
        self.num_classes = self.num_codes = int(dataset.num_classes)

    def generator(self, shape, gens):
        return PackedGenerator(super().generator(shape, gens), self.latent_dim)

    def critic(self, shape, gens, regularizers: tuple[str, ...] = ()):
        return PackedCritic(super().critic(shape, gens, regularizers), self._image_shape(shape))

    def unpack(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Packed samples [..., C*H*W + K] -> (images [..., C, H, W], label index [...])."""
        d = self.sample_shape[0] * self.sample_shape[1] * self.sample_shape[2]
        return x[..., :d].reshape(*x.shape[:-1], *self.sample_shape), x[..., d:].argmax(-1)
