r"""Conditional GAN (Mirza and Osindero 2014): any loss, with class labels fed to both nets.

The game is unchanged except that the generator and the discriminator both receive the
label :math:`y` (as a one-hot vector concatenated to their input):

.. math::
    \min_G \max_D\ \mathbb{E}_{x, y}[\log D(x \mid y)]
        + \mathbb{E}_{z, y}[\log(1 - D(G(z \mid y) \mid y))]

so the loss functions are those of the base loss (non-saturating by default) evaluated on
:math:`D(\cdot \mid y)`. Train with ``train.fit(..., conditional=True)``, which draws
:math:`y` from the data's labels for both the real batch and the generated one, on networks
from ``losses.make_models("cgan", kind)`` (8 classes for ring8, 10 for Fashion-MNIST).
Paper: https://arxiv.org/abs/1411.1784
"""

from __future__ import annotations

import dataclasses

from ganlib.objective import Objective


def objective(base: str = "nonsaturating", **opt) -> Objective:
    """The conditional version of loss ``base`` (any loss whose discriminator is a scorer)."""
    from ganlib.losses import get  # the registry imports this module

    if base == "cgan":
        raise ValueError("cgan's base must be an unconditional loss, not 'cgan'")
    obj = get(base, **opt)
    if type(obj) is not Objective:
        raise ValueError(f"cgan conditions losses whose discriminator returns one score per "
                         f"sample; {base!r} has its own discriminator steps: choose another base")
    return dataclasses.replace(obj, name="cgan", conditional=True,
                               params={"base": base, **obj.params})
