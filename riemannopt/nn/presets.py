"""The paper's networks (§7.2, App. E.1) and shrunken versions that train in minutes on a CPU,
with the training settings the paper's code sets per data set.

The auto-encoders are those of Hinton & Salakhutdinov (2006) and Martens (2010): logistic units
everywhere except the linear code layer, logistic outputs with binary cross-entropy.  The MNIST
classifier is 784-1000-500-250-30-10 with logistic hidden units and a softmax output.  MNIST
cannot be generated, so its presets need the user's ``.npz`` (:func:`~riemannopt.nn.datasets.load_npz`).

The paper's code (``mat/nnet_experiments.m`` of ermongroup/higher_order_invariance, built on
Martens' ``nnet_train_1.m``) sets per data set the damping threshold of the corrections
(``thresh``: 5 CURVES, 10 MNIST, 0.1 FACES), the number of curvature chunks (``numchunks``: 4
CURVES, 8 MNIST and MNIST classification, 20 FACES) and the weight decay (``weightcost``: 10⁻⁵,
halved for FACES); a :class:`Preset` carries them, and :func:`~riemannopt.experiments.nn_study`
and ``riemannopt nn`` use them unless told otherwise.  The shrunken presets keep the fraction of
their training set per chunk of the paper's data set they imitate (CURVES: a quarter; MNIST: an
eighth), so that a curvature chunk costs the same share of a gradient pass as in the paper.

The ``digits-*`` presets train on real images, scikit-learn's bundled 8×8 digits
(:func:`~riemannopt.nn.datasets.digits`; the optional ``data`` extra).
"""

from dataclasses import dataclass
from functools import partial

from riemannopt.errors import InputError, MethodError
from riemannopt.nn.datasets import curves, digits, require_sklearn, spirals
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
        Damping threshold of the corrections (paper App. E and its code's ``thresh``: 5 for
        CURVES, 10 for MNIST, 0.1 for FACES).
    data : callable or None
        ``seed ↦ Dataset``; ``None`` when the data must come from a file.
    n_train : int or None
        Training examples of the generated data.
    chunks : int
        Curvature minibatches, one per iteration in turn (the paper's code's ``numchunks``: 4 for
        CURVES, 8 for MNIST, 20 for FACES; Martens 2010 §4.3).
    weight_decay : float
        ``w`` of the decay ``½·w·‖θ‖²`` (the paper's code's ``weightcost``: 10⁻⁵).
    requires : callable or None
        Called before the data is made: raises a
        :class:`~riemannopt.errors.BackendUnavailableError` naming the extra to install when the
        data's optional dependency is missing (``None``: nothing optional).
    """

    name: str
    description: str
    sizes: tuple
    activations: tuple
    loss: str
    threshold: float
    data: object = None
    n_train: object = None
    chunks: int = 4
    weight_decay: float = 1e-5
    requires: object = None

    def network(self, **options):
        """The :class:`~riemannopt.nn.MLP` (``options``: ``backend``, ``dtype``, ...)."""
        return MLP(self.sizes, self.activations, self.loss, **options)

    def training_options(self):
        """The options of :func:`~riemannopt.nn.train` the paper's code sets per data set:
        ``threshold``, ``chunks``, ``weight_decay``."""
        return dict(threshold=self.threshold, chunks=self.chunks, weight_decay=self.weight_decay)

    def check_data(self):
        """Raise what :meth:`dataset` would before making anything: an
        :class:`~riemannopt.errors.InputError` if the preset has no generated data, a
        :class:`~riemannopt.errors.BackendUnavailableError` if its optional dependency is
        missing."""
        if self.data is None:
            raise InputError(f"preset {self.name!r} has no generated data: load a .npz of yours (load_npz)")
        if self.requires is not None:
            self.requires()

    def dataset(self, seed=0):
        """The generated data set (a :class:`~riemannopt.nn.datasets.Dataset`)."""
        self.check_data()
        return self.data(seed)


_CURVES = (784, 400, 200, 100, 50, 25, 6, 25, 50, 100, 200, 400, 784)
_CURVES_SMALL = (196, 100, 50, 25, 6, 25, 50, 100, 196)
_MNIST_AE = (784, 1000, 500, 250, 30, 250, 500, 1000, 784)
_MNIST_CLS = (784, 1000, 500, 250, 30, 10)
_SPIRALS = (20, 200, 100, 50, 15, 5)
# The MNIST networks scaled to 64 inputs: hidden widths 1000-500-250 are about 1.28, 0.64 and 0.32
# times MNIST's 784 inputs, hence 80-40-20 for 64; the 30-unit code becomes 10 units (10 principal
# components hold 74 % of the digits' variance).
_DIGITS_AE = (64, 80, 40, 20, 10, 20, 40, 80, 64)
_DIGITS_CLS = (64, 80, 40, 20, 10, 10)


def _digits(seed, **options):
    return digits(1200, 597, seed=seed, **options)


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
            chunks=4,
        ),
        Preset(
            "curves-small",
            "shrunken CURVES auto-encoder, 14×14 generated curves (2000 / 1000); CURVES' settings "
            "(threshold 5, 4 chunks: a quarter of the data each, as CURVES)",
            _CURVES_SMALL,
            _autoencoder(_CURVES_SMALL),
            "bce",
            5.0,
            lambda seed: curves(2000, 1000, size=14, seed=seed),
            2000,
            chunks=4,
        ),
        Preset(
            "mnist-ae",
            "MNIST auto-encoder of the paper (data from your .npz: X_train, X_test in [0, 1])",
            _MNIST_AE,
            _autoencoder(_MNIST_AE),
            "bce",
            10.0,
            chunks=8,
        ),
        Preset(
            "mnist-classifier",
            "MNIST classifier 784-1000-500-250-30-10 of the paper (data from your .npz, centred and normalized)",
            _MNIST_CLS,
            ("sigmoid",) * 4 + ("softmax",),
            "softmax_ce",
            10.0,
            chunks=8,
        ),
        Preset(
            "spirals",
            "shrunken deep classifier on 5 generated spiral arms in 20 dimensions (2000 / 1000); the MNIST "
            "classifier's settings (threshold 10, 8 chunks: an eighth of the data each, as MNIST)",
            _SPIRALS,
            ("sigmoid",) * 4 + ("softmax",),
            "softmax_ce",
            10.0,
            lambda seed: spirals(2000, 1000, classes=5, dim=20, seed=seed),
            2000,
            chunks=8,
        ),
        Preset(
            "digits-ae",
            "auto-encoder 64-80-40-20-10-20-40-80-64 on scikit-learn's 8×8 digits (1200 / 597, pixels in "
            "[0, 1]): the MNIST auto-encoder scaled to 64 inputs (hidden widths 1.25, 0.625, 0.31 × the inputs "
            "as 1000-500-250 for 784; a 10-unit linear code for 30); MNIST's settings (threshold 10, 8 chunks); "
            'needs pip install "riemannopt[data]"',
            _DIGITS_AE,
            _autoencoder(_DIGITS_AE),
            "bce",
            10.0,
            partial(_digits, task="autoencoder", standardize=False),
            1200,
            chunks=8,
            requires=require_sklearn,
        ),
        Preset(
            "digits-classifier",
            "classifier 64-80-40-20-10-10 on scikit-learn's 8×8 digits (1200 / 597, pixels standardized as the "
            "paper's code does for MNIST): the MNIST classifier scaled to 64 inputs like digits-ae; MNIST's "
            'settings (threshold 10, 8 chunks); needs pip install "riemannopt[data]"',
            _DIGITS_CLS,
            ("sigmoid",) * 4 + ("softmax",),
            "softmax_ce",
            10.0,
            partial(_digits, task="classifier", standardize=True),
            1200,
            chunks=8,
            requires=require_sklearn,
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
