import pytest
import torch

from ganbench.models import REGISTRY
from ganbench.models.conv import DCGAN, ConditionalDCGAN, pack, plan_sizes, resolve_critic_norm
from ganbench.seeding import generator

LATENT = 8


def gens(seeds):
    return [generator(s, "init") for s in seeds]


class Labelled:
    def __init__(self, shape, classes=10):
        self.shape, self.num_classes = shape, classes


def build(seeds, shape, conditional=False, **kw):
    m = (ConditionalDCGAN if conditional else DCGAN)(latent_dim=LATENT, width=4, **kw)
    if conditional:
        m.bind(Labelled(shape))
    return m.generator(shape, gens(seeds)), m.critic(shape, gens(seeds))


def onehot(y):
    return torch.nn.functional.one_hot(y, 10).float()


@pytest.mark.parametrize("norm", ["batch", "layer", "spectral", "none"])
@pytest.mark.parametrize("conditional", [False, True])
def test_member_in_ensemble_equals_member_alone(norm, conditional):
    shape = (3, 16, 16)
    G3, D3 = build([0, 1, 2], shape, conditional, critic_norm=norm)
    G1, D1 = build([1], shape, conditional, critic_norm=norm)
    torch.manual_seed(0)
    z = torch.randn(3, 6, LATENT)
    c = onehot(torch.randint(10, (3, 6)))
    if conditional:  # labels travel packed: [z, onehot(y)] and [x, onehot(y)]
        z = torch.cat([z, c], -1)
    x3, x1 = G3(z), G1(z[1:2])
    assert torch.allclose(x3[1], x1[0], atol=1e-5)
    assert not torch.allclose(x3[0], x3[1], atol=1e-3)  # members really differ
    real = torch.rand(3, 6, *shape) * 2 - 1
    if conditional:
        real = torch.cat([real.flatten(2), c], -1)
    for _ in range(2):  # second call sees updated running stats / power iterates
        d3, d1 = D3(real), D1(real[1:2])
        assert d3.shape == (3, 6)
        assert torch.allclose(d3[1], d1[0], atol=1e-5)
    for (name, b3), (_, b1) in zip(D3.state_dict().items(), D1.state_dict().items()):
        assert b3.shape[0] == 3 and b1.shape[0] == 1, name  # member axis first everywhere
        assert torch.allclose(b3[1], b1[0], atol=1e-5), name


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 16, 16), (1, 28, 28), (3, 32, 32), (3, 64, 64)])
def test_shapes_and_range(shape):
    G, D = build([0, 1], shape)
    x = G(torch.randn(2, 3, LATENT))
    assert x.shape == (2, 3, *shape)
    assert x.abs().max() <= 1.0
    assert D(x).shape == (2, 3)


@pytest.mark.parametrize("side,expected", [(8, (4, 1)), (16, (4, 2)), (28, (7, 2)),
                                           (32, (4, 3)), (64, (4, 4))])
def test_plan_sizes(side, expected):
    assert plan_sizes(side) == expected


@pytest.mark.parametrize("side", [4, 9, 30, 100])
def test_unsupported_sizes_fail_clearly(side):
    with pytest.raises(ValueError, match="dcgan supports"):
        plan_sizes(side)


def test_gradients_reach_every_parameter_and_input():
    G, D = build([0, 1], (1, 28, 28), critic_norm="layer")
    x = G(torch.randn(2, 5, LATENT))
    D(x).sum().backward()
    for module in (G, D):
        for name, p in module.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    # double backward (gradient penalties differentiate the critic's input gradient)
    real = torch.randn(2, 5, 1, 28, 28, requires_grad=True)
    (g,) = torch.autograd.grad(D(real).sum(), real, create_graph=True)
    g.pow(2).sum().backward()
    assert all(p.grad is not None for p in D.parameters())


def test_spectral_norm_bounds_each_layer_by_one():
    from ganbench.models.layers import spectral_normalize

    _, D = build([0, 1], (1, 16, 16), critic_norm="spectral")
    conv = D.features[2]
    w = conv.weight.detach()
    mat = w.reshape(2, w.shape[1], -1).transpose(1, 2)  # [E, in, out] as the layer uses it
    for _ in range(200):  # the forward pass runs one power iteration; let them converge
        eff = spectral_normalize(mat, conv.u, update=True)
    assert torch.allclose(torch.linalg.matrix_norm(eff, ord=2), torch.ones(2), atol=1e-3)
    # and the layer's forward divides by that same estimate
    x = torch.randn(3, 2 * conv.cin, 8, 8)
    expect = torch.nn.functional.conv2d(
        x, (eff.transpose(1, 2).reshape(w.shape)).reshape(-1, *w.shape[2:]),
        conv.bias.reshape(-1), 2, 1, groups=2)
    conv.eval()
    assert torch.allclose(conv(x), expect, atol=1e-5)


def test_projection_critic_is_linear_in_the_label_embedding():
    shape = (1, 8, 8)
    G, D = build([0], shape, conditional=True, critic_norm="none")
    x = torch.randn(1, 4, *shape)
    ca, cb = onehot(torch.zeros(1, 4, dtype=torch.long)), onehot(torch.full((1, 4), 3))
    net = D.net
    from ganbench.models.conv import unpack

    phi = unpack(net.features(pack(x)), 1).flatten(2)
    emb = net.embed.weight[0]
    expected = ((emb[0] - emb[3]) * phi[0]).sum(-1)
    got = D(torch.cat([x.flatten(2), ca], -1)) - D(torch.cat([x.flatten(2), cb], -1))
    assert torch.allclose(got[0], expected, atol=1e-5)
    with pytest.raises(ValueError, match="conditional"):
        net(x)
    # the generator uses the labels, passes them through, and unpacks to images
    z = torch.randn(1, 4, LATENT)
    out_a, out_b = G(torch.cat([z, ca], -1)), G(torch.cat([z, cb], -1))
    assert not torch.allclose(out_a[..., :64], out_b[..., :64])
    m = ConditionalDCGAN(latent_dim=LATENT, width=4)
    m.bind(Labelled(shape))
    images, labels = m.unpack(out_b)
    assert images.shape == (1, 4, *shape) and labels.eq(3).all()
    # input-gradient penalties see the image only
    xc = torch.cat([x.flatten(2), ca], -1).requires_grad_(True)
    (g,) = torch.autograd.grad(D(xc).sum(), xc)
    assert g[..., 64:].abs().sum() == 0 and g[..., :64].abs().sum() > 0


def test_params_validated_and_registered():
    assert "dcgan" in REGISTRY and "dcgan_conditional" in REGISTRY
    with pytest.raises(ValueError, match="labels"):
        ConditionalDCGAN().bind(Labelled((1, 8, 8), classes=None))
    with pytest.raises(ValueError, match="critic_norm"):
        DCGAN(critic_norm="group")
    with pytest.raises(ValueError, match="generator_norm"):
        DCGAN(generator_norm="layer")
    with pytest.raises(ValueError, match=r"\[C, H, W\]"):
        DCGAN().generator((2,), gens([0]))
    assert resolve_critic_norm("auto", None) == "batch"
    assert resolve_critic_norm("auto", "gp") == "layer"
    assert resolve_critic_norm("spectral", "gp") == "spectral"


def test_trainer_tells_the_critic_its_regularizer():
    import torch

    from ganbench.suite import parse_suite
    from ganbench.train import build

    def critic_norms(objective):
        runs = parse_suite({"base": {"dataset": {"name": "digits", "size": 16}, "objective": objective,
                                     "model": {"name": "dcgan", "latent_dim": 4, "width": 4},
                                     "training": {"iterations": 1, "batch_size": 4},
                                     "evaluation": {"samples": 10, "metrics": []}}}).runs
        D = build(runs, torch.device("cpu")).game.D
        return {type(m).__name__ for m in D.modules()}

    with_gp, plain = critic_norms("wgan_gp"), critic_norms("nonsaturating")
    assert with_gp != plain
    assert not any("Batch" in n for n in with_gp)
