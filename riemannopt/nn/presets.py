"""The paper's networks (§7.2, App. E.1) and shrunken versions that train in minutes on a CPU.

The auto-encoders are those of Hinton & Salakhutdinov (2006) and Martens (2010): logistic units
everywhere except the linear code layer, logistic outputs with binary cross-entropy.  The MNIST
classifier is 784-1000-500-250-30-10 with logistic hidden units and a softmax output.  MNIST
cannot be generated, so its presets need the user's ``.npz`` (:func:`~riemannopt.nn.datasets.load_npz`).
"""

from dataclasses import dataclass

from riemannopt.errors import InputError, MethodError
from riemannopt.nn.datasets import curves, spirals
from riemannopt.nn.mlp import MLP

__all__ = ["Preset", "PRESETS", "get_preset"]


def _autoencoder(sizes):
    """Logistic layers, the narrowest (code) layer linear, logistic output."""
    code = sizes.index(min(sizes[1:-1])) - 1
    return tuple("linear" if i == code else "sigmoid" for i in range(len(sizes) - 1))


@dataclass(frozen=True)
class Preset:
    """A network and (when it can be generated) its data.

    Attributes
    ----------
    name : str
    description : str
    sizes : tuple of int
    activations : tuple of str
    loss : str
    threshold : float
        Damping threshold of the corrections (paper App. E: 5 for CURVES, 10 for MNIST).
    data : callable or None
        ``seed ↦ Dataset``; ``None`` when the data must come from a file.
    n_train : int or None
        Training examples of the generated data.
    """

    name: str
    description: str
    sizes: tuple
    activations: tuple
    loss: str
    threshold: float
    data: object = None
    n_train: object = None

    def network(self, **options):
        """The :class:`~riemannopt.nn.MLP` (``options``: ``backend``, ``dtype``, ...)."""
        return MLP(self.sizes, self.activations, self.loss, **options)

    def dataset(self, seed=0):
        """The generated data set (a :class:`~riemannopt.nn.datasets.Dataset`)."""
        if self.data is None:
            raise InputError(f"preset {self.name!r} has no generated data: load a .npz of yours (load_npz)")
        return self.data(seed)


_CURVES = (784, 400, 200, 100, 50, 25, 6, 25, 50, 100, 200, 400, 784)
_CURVES_SMALL = (196, 100, 50, 25, 6, 25, 50, 100, 196)
_MNIST_AE = (784, 1000, 500, 250, 30, 250, 500, 1000, 784)
_MNIST_CLS = (784, 1000, 500, 250, 30, 10)
_SPIRALS = (20, 200, 100, 50, 15, 5)

#: The presets by name.
PRESETS = {
    p.name: p
    for p in (
        Preset(
            "curves",
            "CURVES auto-encoder of the paper and Martens (2010), 28×28 generated curves (20000 / 10000)",
            _CURVES,
            _autoencoder(_CURVES),
            "bce",
            5.0,
            lambda seed: curves(20000, 10000, size=28, seed=seed),
            20000,
        ),
        Preset(
            "curves-small",
            "shrunken CURVES auto-encoder, 14×14 generated curves (2000 / 1000)",
            _CURVES_SMALL,
            _autoencoder(_CURVES_SMALL),
            "bce",
            5.0,
            lambda seed: curves(2000, 1000, size=14, seed=seed),
            2000,
        ),
        Preset(
            "mnist-ae",
            "MNIST auto-encoder of the paper (data from your .npz: X_train, X_test in [0, 1])",
            _MNIST_AE,
            _autoencoder(_MNIST_AE),
            "bce",
            10.0,
        ),
        Preset(
            "mnist-classifier",
            "MNIST classifier 784-1000-500-250-30-10 of the paper (data from your .npz, centred and normalized)",
            _MNIST_CLS,
            ("sigmoid",) * 4 + ("softmax",),
            "softmax_ce",
            10.0,
        ),
        Preset(
            "spirals",
            "shrunken deep classifier on 5 generated spiral arms in 20 dimensions (2000 / 1000)",
            _SPIRALS,
            ("sigmoid",) * 4 + ("softmax",),
            "softmax_ce",
            10.0,
            lambda seed: spirals(2000, 1000, classes=5, dim=20, seed=seed),
            2000,
        ),
    )
}


def get_preset(name):
    """The :class:`Preset` called ``name``; a :class:`~riemannopt.errors.MethodError`
    otherwise."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise MethodError(f"unknown preset {name!r}; expected one of {list(PRESETS)}") from None
