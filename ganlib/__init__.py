"""ganlib: the library behind *GAN Losses, Derived and Measured*.

Every chapter of the book imports from here, and shows the source it runs with
:func:`show`. The submodules chapters import most: ``config``, ``data``, ``models``,
``losses``, ``objective``, ``penalties``, ``train``, ``ensemble``, ``metrics``,
``evaluator``, ``theory``, ``dirac``, ``plots``, ``experiments``, ``settings``, ``stats``,
``sweep``, ``grid_runs``, ``two_rates``, ``ladder``; CONTRIBUTING.md lists every module
and its job.
"""

from __future__ import annotations

import inspect
import os

__version__ = "0.1.0"

# POT (optimal transport, for W2) looks for every array library installed beside it and
# creates a backend for each at its first call. Created, JAX's backend takes 75% of a GPU's
# memory and TensorFlow's most of the rest (both preallocate), for example on Colab, which
# has both installed. ganlib hands POT NumPy arrays and torch tensors only, so it switches
# the others off, unless the environment already says otherwise.
for _backend in ("JAX", "TENSORFLOW", "CUPY"):
    os.environ.setdefault(f"POT_BACKEND_DISABLE_{_backend}", "1")


def source(obj) -> str:
    """The library's own source text of a function, class or module."""
    try:
        return inspect.getsource(obj)
    except (TypeError, OSError) as e:
        raise TypeError(f"cannot show the source of {obj!r}: pass a ganlib function, "
                        "class or module") from e


def show(*objs):
    """Display the source of ``objs`` in a notebook (highlighted), so a chapter shows the
    code that actually runs rather than a copy of it. Outside IPython it prints."""
    text = "\n\n".join(source(o) for o in objs)
    try:
        from IPython.display import Code
    except ImportError:  # plain Python
        print(text)
        return None
    return Code(text, language="python")


def glue(name: str, value, display: bool = True):
    """Store ``value`` under ``name`` for the book's prose (myst-nb's ``glue``).

    Without myst-nb (a plain Jupyter or Colab install) it just displays the value.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:
        if display:
            from IPython.display import display as _display
            _display(value)
        return
    _glue(name, value, display=display)


def evaluate(samples, *args, **kwargs):
    """Score Fashion-MNIST samples or a generator: :func:`ganlib.evaluator.evaluate`."""
    from ganlib.evaluator import evaluate as _evaluate

    return _evaluate(samples, *args, **kwargs)
