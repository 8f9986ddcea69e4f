"""The paper's networks and their shrunken versions (riemannopt.nn.presets)."""

import numpy as np
import pytest

from riemannopt.errors import InputError, MethodError
from riemannopt.nn import PRESETS, get_preset


def test_paper_architectures():
    """App. E.1: the CURVES auto-encoder of Hinton & Salakhutdinov / Martens, the MNIST
    auto-encoder and the 784-1000-500-250-30-10 classifier; logistic units, linear code layer."""
    curves = get_preset("curves")
    assert curves.sizes == (784, 400, 200, 100, 50, 25, 6, 25, 50, 100, 200, 400, 784)
    assert curves.activations[5] == "linear" and curves.activations.count("linear") == 1
    assert curves.loss == "bce" and curves.threshold == 5.0
    ae = get_preset("mnist-ae")
    assert ae.sizes == (784, 1000, 500, 250, 30, 250, 500, 1000, 784) and ae.activations[3] == "linear"
    cls = get_preset("mnist-classifier")
    assert cls.sizes == (784, 1000, 500, 250, 30, 10) and cls.loss == "softmax_ce" and cls.threshold == 10.0
    assert cls.activations == ("sigmoid",) * 4 + ("softmax",)
    with pytest.raises(InputError, match="no generated data"):
        cls.dataset()
    with pytest.raises(MethodError, match="unknown preset 'faces'"):
        get_preset("faces")


@pytest.mark.parametrize("name", ["curves-small", "spirals"])
def test_small_presets_fit_their_generated_data(name):
    p = PRESETS[name]
    net = p.network(dtype=np.float32)
    d = p.dataset(seed=2)
    assert d.X_train.shape == (p.n_train, net.sizes[0])
    assert net.n_params < 60_000
    if p.loss == "softmax_ce":
        assert d.T_train.max() < net.sizes[-1]
    else:
        assert d.T_train.shape[1] == net.sizes[-1]
