"""The paper's networks and their shrunken versions (riemannopt.nn.presets)."""

import sys

import numpy as np
import pytest

from riemannopt.errors import BackendUnavailableError, InputError, MethodError
from riemannopt.nn import PRESETS, datasets, get_preset


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


def test_presets_carry_the_papers_settings():
    """The paper's code (nnet_experiments.m) sets per data set thresh (5 CURVES, 10 MNIST),
    numchunks (4 CURVES, 8 MNIST and MNIST classification) and weightcost (1e-5); the shrunken
    presets keep the share of the data per chunk of the set they imitate."""
    expected = {
        "curves": (5.0, 4),
        "curves-small": (5.0, 4),
        "mnist-ae": (10.0, 8),
        "mnist-classifier": (10.0, 8),
        "spirals": (10.0, 8),
        "digits-ae": (10.0, 8),
        "digits-classifier": (10.0, 8),
    }
    assert set(PRESETS) == set(expected)
    for name, (threshold, chunks) in expected.items():
        p = PRESETS[name]
        assert p.training_options() == dict(threshold=threshold, chunks=chunks, weight_decay=1e-5), name
    # a quarter (CURVES) or an eighth (MNIST) of the training set per chunk
    assert PRESETS["curves"].n_train / PRESETS["curves"].chunks == 5000
    assert PRESETS["curves-small"].n_train / PRESETS["curves-small"].chunks == 500


def test_digits_presets_scale_the_mnist_networks():
    ae, cls = get_preset("digits-ae"), get_preset("digits-classifier")
    assert ae.sizes == (64, 80, 40, 20, 10, 20, 40, 80, 64) and ae.loss == "bce"
    assert ae.activations[3] == "linear" and ae.activations.count("linear") == 1
    assert cls.sizes == (64, 80, 40, 20, 10, 10) and cls.loss == "softmax_ce"
    assert cls.activations == ("sigmoid",) * 4 + ("softmax",)
    assert "riemannopt[data]" in ae.description and "riemannopt[data]" in cls.description


@pytest.mark.parametrize("name", ["digits-ae", "digits-classifier"])
def test_digits_presets_without_scikit_learn_name_the_extra(name, monkeypatch):
    """With scikit-learn missing (its import fails), the data raises a riemannopt error saying
    which extra to install, before anything is made."""
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    monkeypatch.setattr(datasets, "_DIGITS", None)
    p = PRESETS[name]
    for call in (p.check_data, lambda: p.dataset(0)):
        with pytest.raises(BackendUnavailableError, match=r'pip install "riemannopt\[data\]"'):
            call()
    assert p.network().sizes[0] == 64  # the network itself needs nothing optional


@pytest.mark.parametrize("name", ["curves-small", "spirals", "digits-ae", "digits-classifier"])
def test_small_presets_fit_their_generated_data(name):
    if name.startswith("digits"):
        pytest.importorskip("sklearn")
    p = PRESETS[name]
    net = p.network(dtype=np.float32)
    d = p.dataset(seed=2)
    assert d.X_train.shape == (p.n_train, net.sizes[0])
    assert net.n_params < 60_000
    assert p.chunks <= p.n_train and d.n_train == p.n_train
    if p.loss == "softmax_ce":
        assert d.T_train.max() < net.sizes[-1]
    else:
        assert d.T_train.shape[1] == net.sizes[-1]
