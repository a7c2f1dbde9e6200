"""The layers of ganlib.convs compute what the PyTorch layers they replace compute: the same
outputs and gradients (also the gradient of a gradient, which the penalties take) up to float
rounding, in both memory layouts, and the same training run. Its LeakyReLU gives a penalty
the same gradients to the bit, through a smaller graph."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganlib import data, losses, models, penalties, train
from ganlib.convs import (
    ConcatConv2d,
    Flatten,
    FoldConvTranspose2d,
    LabelConv2d,
    LeakyReLU,
    constant_slopes,
    with_pytorch_layers,
)

LAYOUTS = [torch.contiguous_format, torch.channels_last]


def _grads(out: torch.Tensor, x: torch.Tensor, layer: nn.Module):
    """Output, gradients of a scalar of ``out`` for x and the weight, and the weight's
    gradient of the squared input gradient (a gradient penalty's double backward)."""
    gx, gw = torch.autograd.grad(out.square().sum(), [x, layer.weight], create_graph=True)
    (gg,) = torch.autograd.grad(gx.square().sum(), layer.weight)
    return out.detach(), gx.detach(), gw.detach(), gg


def _close(a, b):
    for p, q in zip(a, b):
        scale = q.abs().max().item()
        torch.testing.assert_close(p, q, rtol=0, atol=1e-5 * max(1.0, scale))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_label_conv_equals_a_convolution_over_one_hot_channels(layout):
    torch.manual_seed(0)
    ref = nn.Conv2d(1 + 10, 32, 4, 2, 1).to(memory_format=layout)
    conv = LabelConv2d(1 + 10, 32, 4, 2, 1).to(memory_format=layout)
    conv.load_state_dict(ref.state_dict())
    x = torch.randn(12, 1, 28, 28, requires_grad=True)
    y = torch.randint(0, 10, (12,))
    maps = F.one_hot(y, 10).float()[:, :, None, None].expand(-1, -1, 28, 28)
    expected = _grads(ref(torch.cat([x, maps], 1)), x, ref)
    _close(_grads(conv(x, y), x, conv), expected)
    concat = ConcatConv2d(1 + 10, 32, 4, 2, 1).to(memory_format=layout)
    concat.load_state_dict(ref.state_dict())
    _close(_grads(concat(x, y), x, concat), expected)


def test_label_conv_without_labels_is_a_convolution_and_checks_its_channels():
    torch.manual_seed(0)
    ref, conv = nn.Conv2d(3, 8, 3, 1, 1), LabelConv2d(3, 8, 3, 1, 1)
    conv.load_state_dict(ref.state_dict())
    x = torch.randn(4, 3, 9, 9)
    torch.testing.assert_close(conv(x), ref(x))
    with pytest.raises(ValueError, match="3 image channels and 0 classes, labels given"):
        conv(x, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="1 image channels and 2 classes, labels needed"):
        conv(x[:, :1])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(32, 1, 4, 2, 1, 14), (8, 3, 3, 1, 1, 9), (6, 2, 5, 3, 2, 7)])
def test_fold_transposed_convolution_equals_pytorchs(layout, shape):
    c_in, c_out, k, s, p, size = shape
    torch.manual_seed(0)
    ref = nn.ConvTranspose2d(c_in, c_out, k, s, p).to(memory_format=layout)
    conv = FoldConvTranspose2d(c_in, c_out, k, s, p).to(memory_format=layout)
    conv.load_state_dict(ref.state_dict())
    x = torch.randn(5, c_in, size, size).contiguous(memory_format=layout).requires_grad_()
    _close(_grads(conv(x), x, conv), _grads(ref(x), x, ref))


def test_fold_transposed_convolution_refuses_what_it_does_not_compute():
    with pytest.raises(ValueError, match="no output padding"):
        FoldConvTranspose2d(4, 1, 4, 2, 1, output_padding=1)


def test_flatten_keeps_the_gradients_layout_and_values():
    torch.manual_seed(0)
    x = torch.randn(4, 6, 5, 5).contiguous(memory_format=torch.channels_last).requires_grad_()
    w = torch.randn(6 * 25)
    out, ref = Flatten()(x), nn.Flatten()(x)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    g, g_ref = (torch.autograd.grad((o * w).sum(), x)[0] for o in (out, ref))
    assert g.is_contiguous(memory_format=torch.channels_last) and not g.is_contiguous()
    torch.testing.assert_close(g, g_ref, rtol=0, atol=0)
    # a contiguous input keeps its layout too, and the layer flattens from dimension 1 only
    assert Flatten()(torch.zeros(2, 3, 4)).shape == (2, 12)


@pytest.mark.parametrize("name", ["cgan", "began"])
def test_image_pairs_train_as_with_pytorchs_layers(name):
    g = torch.Generator().manual_seed(0)
    images = data.Images(torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g),
                         torch.randint(0, 10, (64,), generator=g))
    runs = []
    for plain in (False, True):
        objective = losses.get(name)
        torch.manual_seed(1)
        G, D = losses.make_models(name, "image-small")
        assert any(isinstance(m, FoldConvTranspose2d) for m in G.modules())
        if plain:
            G, D = with_pytorch_layers(G), with_pytorch_layers(D)
            assert not any(isinstance(m, (LabelConv2d, FoldConvTranspose2d, Flatten))
                           for net in (G, D) for m in net.modules())
        h = train.fit(G, D, objective, images, steps=4, batch_size=16, seed=1,
                      log_every=1, progress=False, n_fixed=4,
                      conditional=objective.conditional)
        runs.append(h)
    # float rounding only: another seed moves these losses by 0.01 to 0.1
    for key in ("d_loss", "g_loss"):
        np.testing.assert_allclose(runs[0][key], runs[1][key], rtol=1e-4, atol=1e-5)


PENALTIES = {"wgan-gp": penalties.gradient_penalty, "r1": penalties.r1,
             "dragan": penalties.dragan}


def _penalty_grads(D: nn.Module, penalty, real, fake):
    """Every parameter's gradient of loss + penalty, the penalty's random draws seeded."""
    torch.manual_seed(1)
    out = D(torch.cat([real, fake]))
    loss = out[len(real):].mean() - out[:len(real)].mean() + penalty(D, real, fake)
    return torch.autograd.grad(loss, list(D.parameters()))


@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("kind", ["2d", "image-small"])
def test_penalty_gradients_equal_pytorchs_leaky_relu_to_the_bit(penalty, kind):
    torch.manual_seed(0)
    D = (models.MLPDiscriminator() if kind == "2d"
         else models.SmallConvDiscriminator(batchnorm=False))
    assert any(type(m) is LeakyReLU for m in D.modules())
    shape = (32, 2) if kind == "2d" else (8, 1, 28, 28)
    real, fake = torch.randn(shape), torch.randn(shape)
    ours = _penalty_grads(D, PENALTIES[penalty], real, fake)
    theirs = _penalty_grads(with_pytorch_layers(D), PENALTIES[penalty], real, fake)
    assert not any(type(m) is LeakyReLU for m in D.modules())
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


def _nodes(fn, seen=None) -> set:
    """Every autograd node reachable from ``fn``."""
    seen = set() if seen is None else seen
    if fn is not None and fn not in seen:
        seen.add(fn)
        for nxt, _ in fn.next_functions:
            _nodes(nxt, seen)
    return seen


def test_a_penalty_graph_skips_the_forward_pass_behind_the_activations():
    """Through PyTorch's LeakyReLU a penalty's graph leads back to the forward pass's
    products (whose gradients there are zeros); through ganlib's it does not."""
    torch.manual_seed(0)
    D = models.MLPDiscriminator()
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    ours = _nodes(penalties.gradient_penalty(D, real, fake).grad_fn)
    theirs = _nodes(penalties.gradient_penalty(with_pytorch_layers(D), real, fake).grad_fn)
    names = lambda nodes: [type(n).__name__ for n in nodes]  # noqa: E731
    assert names(theirs).count("AddmmBackward0") == 3  # the three hidden layers
    assert "AddmmBackward0" not in names(ours)
    assert len(ours) < len(theirs)


def test_leaky_relu_is_pytorchs_outside_the_penalty_context_and_resets_it():
    x = torch.randn(64, 8, requires_grad=True)
    layer = LeakyReLU(0.2)
    out = layer(x)
    assert type(out.grad_fn).__name__ == "LeakyReluBackward0"
    assert torch.equal(out, F.leaky_relu(x, 0.2))
    with pytest.raises(RuntimeError), constant_slopes():
        assert type(layer(x).grad_fn).__name__ != "LeakyReluBackward0"
        raise RuntimeError("inside")
    assert type(layer(x).grad_fn).__name__ == "LeakyReluBackward0"
    # the second derivative in x, zero almost everywhere, is zero either way
    with constant_slopes():
        (gx,) = torch.autograd.grad(layer(x).square().sum(), x, create_graph=True)
    (gxx,) = torch.autograd.grad(gx.sum(), x)
    (gx0,) = torch.autograd.grad(F.leaky_relu(x, 0.2).square().sum(), x, create_graph=True)
    torch.testing.assert_close(gxx, torch.autograd.grad(gx0.sum(), x)[0])
