"""K small networks of one architecture as batched matrix products (``ensemble.fit_many``).

A network that is a plain chain of ``nn.Linear`` layers and element-wise activations (the
2-D pair) runs for K stacked weight sets as ``torch.baddbmm`` on weights of shape
(K, out, in). On a CPU that is several times faster than ``vmap`` of ``functional_call``,
which copies strided tensors around every product (``benchmarks/README.md``). Any other
network returns None from :func:`mlp_layers`, and ``fit_many`` keeps ``vmap`` for it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call

ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.SiLU, nn.Identity)


def mlp_layers(net: nn.Module, params: dict[str, torch.Tensor]) -> list | None:
    """``net`` as a list of ``(weight name, bias name)`` and element-wise modules, when it is
    a plain chain of ``nn.Linear`` and element-wise activations (the 2-D pair) whose stacked
    evaluation gives what ``net`` gives; None otherwise (the runs then go through ``vmap``).
    Batched matrix products (``torch.baddbmm``) run the K networks of such a chain several
    times faster on a CPU than ``vmap`` of ``functional_call`` does."""
    layers = []
    for name, m in net.named_modules():
        if isinstance(m, nn.Linear):
            if m.bias is None:
                return None
            layers.append((f"{name}.weight", f"{name}.bias"))
        elif isinstance(m, ELEMENTWISE):
            layers.append(m)
        elif len(list(m.children())) == 0 or m._forward_hooks or m._forward_pre_hooks:
            return None  # a leaf that is neither (BatchNorm, dropout...) or a hooked module
    with torch.no_grad():  # the chain must be the network: check it on run 0
        n_in = params[layers[0][0]].shape[-1]
        x = torch.randn(1, 3, n_in, generator=torch.Generator().manual_seed(0)).to(
            params[layers[0][0]].device)
        mine = forward(layers, {n: p[:1] for n, p in params.items()}, x)[0]
        try:
            theirs = functional_call(copy.deepcopy(net).to(x.device),
                                     {n: p[0] for n, p in params.items()}, (x[0],))
        except (TypeError, ValueError, RuntimeError):
            return None
        theirs = theirs.reshape(mine.shape) if theirs.numel() == mine.numel() else None
        if theirs is None or not torch.allclose(mine, theirs, atol=1e-6):
            return None
    return layers


def forward(layers: list, params: dict[str, torch.Tensor],
                     x: torch.Tensor) -> torch.Tensor:
    """K stacked chains at once: ``x`` is (K, batch, in); weights (K, out, in)."""
    for layer in layers:
        if isinstance(layer, tuple):
            w, b = params[layer[0]], params[layer[1]]
            x = torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))
        else:
            x = layer(x)
    return x
