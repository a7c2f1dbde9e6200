"""Layers that compute what ``nn.Conv2d``, ``nn.ConvTranspose2d``, ``nn.Flatten`` and
``nn.LeakyReLU`` compute, for less: the first three on a CPU, the last in a penalty's
backward pass on any device. Each is a subclass with the same parameters (a state dict
loads into either), so initialisation and spectral normalisation treat them as the
originals; :func:`with_pytorch_layers` swaps them back, to compare results and times.

* :class:`LabelConv2d` takes conditional labels the way conditional GANs feed them to a
  convolution, as constant one-hot channels after the image's, without building those
  channels: a convolution is linear, so their contribution is one map per class (the
  convolution of a constant channel, zero padding included), and each sample adds the map
  of its class. The weight keeps its ``image channels + classes`` input channels;
  the convolution itself runs over the image channels alone (1 instead of 11 for
  Fashion-MNIST's ten classes).
* :class:`FoldConvTranspose2d` computes a transposed convolution with few output channels
  (the generators' last layer, 32 or 64 -> 1) on a CPU as one matrix product and ``fold``: PyTorch's
  CPU kernel for one output channel runs about 3 GFLOP/s, twenty times below a matrix
  product of the same arithmetic (``benchmarks/README.md``). With many output channels
  ``fold`` is the slower path, so the networks use it for their last layer only.
* :class:`Flatten` hands its gradient back channels-last when its input was, so that the
  element-wise layer before it runs its backward pass on one layout.
* :class:`LeakyReLU` spares a gradient penalty's backward pass a chain of zeros. Its slope
  (1 or ``negative_slope``) is constant wherever it is defined, so an input gradient
  :math:`\\nabla_x D` does not change with the activations' inputs; PyTorch's double
  backward of ``leaky_relu`` still returns a tensor of zeros for them, and autograd carries
  those zeros through every layer below it (matrix products of zeros, added to the weight
  gradients). Inside :func:`constant_slopes`, where
  :func:`ganlib.penalties.input_gradients` runs D, the layer's backward pass is a function
  of the incoming gradient alone, so the penalty's backward pass skips that chain: the same
  gradients to the bit (adding zeros changes nothing), and the 2-D WGAN-GP, R1 and DRAGAN
  steps 1.14 times as fast (``benchmarks/README.md``).
"""

from __future__ import annotations

import contextlib
import contextvars

import torch
import torch.nn.functional as F
from torch import nn


class LabelConv2d(nn.Conv2d):
    """``nn.Conv2d`` over an image and, optionally, its class labels as one-hot constant
    channels after the image's (the weight's last ``in_channels - image channels`` input
    channels, one per class)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.groups != 1 or self.padding_mode != "zeros":
            raise ValueError("LabelConv2d needs one group and zero padding")

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``conv(cat([x, one_hot(y) as constant maps], 1))`` for class indices ``y`` of
        shape (n,); ``conv(x)`` without labels."""
        c = x.shape[1]
        classes = self.in_channels - c
        if (y is None) != (classes == 0):
            raise ValueError(f"this convolution takes {self.in_channels} input channels: "
                             f"{c} image channels and {classes} classes, labels "
                             f"{'needed' if y is None else 'given'}")
        if y is None:
            return super().forward(x)
        out = self._conv_forward(x, self.weight[:, :c], self.bias)
        # the convolution of each class's constant channel, once for the batch:
        # one image of ones through the class channels' kernels, (classes, out, h', w')
        kernels = self.weight[:, c:].transpose(0, 1).reshape(-1, 1, *self.kernel_size)
        ones = x.new_ones(1, 1, *x.shape[2:])
        maps = self._conv_forward(ones, kernels, None).view(classes, self.out_channels,
                                                            *out.shape[2:])
        # each sample's class map, laid out like the convolution's output (channels-last
        # on a CPU), so that the sum is one element-wise pass
        if out.is_contiguous(memory_format=torch.channels_last):
            return out + maps.permute(0, 2, 3, 1)[y].permute(0, 3, 1, 2)
        return out + maps[y]


class FoldConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (one group, no output padding) as one matrix product and
    ``fold`` on a CPU, PyTorch's kernel elsewhere."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.groups != 1 or any(self.output_padding) or self.padding_mode != "zeros":
            raise ValueError("FoldConvTranspose2d needs one group, zero padding and no "
                             "output padding")

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if x.device.type != "cpu" or output_size is not None:
            return super().forward(x, output_size)
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (self.kernel_size, self.stride,
                                                   self.padding, self.dilation)
        size = ((h - 1) * sh - 2 * ph + dh * (kh - 1) + 1,
                (w - 1) * sw - 2 * pw + dw * (kw - 1) + 1)
        # each input pixel's contribution to every output channel and kernel offset
        cols = x.permute(0, 2, 3, 1).reshape(n, h * w, c) @ self.weight.reshape(c, -1)
        out = F.fold(cols.transpose(1, 2), size, self.kernel_size, self.dilation,
                     self.padding, self.stride)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)


class _Flatten(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.shape, ctx.channels_last = x.shape, x.is_contiguous(
            memory_format=torch.channels_last) and not x.is_contiguous()
        return x.flatten(1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.reshape(ctx.shape)
        return grad.contiguous(memory_format=torch.channels_last) if ctx.channels_last else grad


class Flatten(nn.Flatten):
    """``nn.Flatten`` (from dimension 1) whose gradient keeps the input's channels-last
    layout. Behind ``nn.Flatten`` the gradient comes back in the contiguous layout, and the
    backward pass of the element-wise layer before it (a LeakyReLU that saved a channels-last
    tensor) then runs on mixed layouts, about ten times slower."""

    def __init__(self):
        super().__init__(1, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _Flatten.apply(x) if x.dim() == 4 else super().forward(x)


_CONSTANT_SLOPES = contextvars.ContextVar("constant_slopes", default=False)


@contextlib.contextmanager
def constant_slopes():
    """Inside, :class:`LeakyReLU` layers record a backward pass that depends on the incoming
    gradient alone (their slope is constant almost everywhere): for the forward pass of a
    gradient penalty, whose backward pass then differentiates the input gradient."""
    token = _CONSTANT_SLOPES.set(True)
    try:
        yield
    finally:
        _CONSTANT_SLOPES.reset(token)


class _ConstantSlope(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: float) -> torch.Tensor:
        ctx.slope = slope
        ctx.save_for_backward(x)
        return F.leaky_relu(x, slope)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        # the slope at x, as a constant: differentiable in grad, not in x
        return torch.ops.aten.leaky_relu_backward(grad, x.detach(), ctx.slope, False), None


class LeakyReLU(nn.LeakyReLU):
    """``nn.LeakyReLU`` whose backward pass, inside :func:`constant_slopes`, does not lead
    back to its input (what the second derivative, zero almost everywhere, gives anyway)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _CONSTANT_SLOPES.get() and not self.inplace and torch.is_grad_enabled():
            return _ConstantSlope.apply(x, self.negative_slope)
        return super().forward(x)


class ConcatConv2d(nn.Conv2d):
    """The textbook form of :class:`LabelConv2d`: the one-hot labels built as constant
    channels and concatenated to the image (for comparisons; slower)."""

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            c = F.one_hot(y, self.in_channels - x.shape[1]).to(x.dtype)
            x = torch.cat([x, c[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        return super().forward(x)


def with_pytorch_layers(module: nn.Module) -> nn.Module:
    """``module``, in place, with this module's layers replaced by the PyTorch layers they
    stand for (:class:`ConcatConv2d` for :class:`LabelConv2d`), with the same weights:
    the same network computed the usual way, to compare results and times."""
    for name, child in module.named_children():
        if type(child) in (LabelConv2d, FoldConvTranspose2d):
            cls = ConcatConv2d if type(child) is LabelConv2d else nn.ConvTranspose2d
            new = cls(child.in_channels, child.out_channels, child.kernel_size, child.stride,
                      child.padding, dilation=child.dilation, bias=child.bias is not None)
            new.load_state_dict(child.state_dict())
            setattr(module, name, new.to(child.weight.device))
        elif type(child) is Flatten:
            setattr(module, name, nn.Flatten())
        elif type(child) is LeakyReLU:
            setattr(module, name, nn.LeakyReLU(child.negative_slope, child.inplace))
        else:
            with_pytorch_layers(child)
    return module
