"""The tiny problem that the dense transcriptions of the Hessian-free loop share
(``test_nn_paper_loop.py``, ``test_nn_ncg.py``): a 2-1-1 BCE network of 5 parameters, small
enough that every solve is exact and every matrix dense, with the weight decay ``WD`` and the
damping ``LAM`` the transcriptions use.  Not a test module: the tests import it by name (pytest
puts this directory on ``sys.path``)."""

import numpy as np

from riemannopt.nn import MLP

WD = 1e-2
LAM = 0.5


def tiny_bce(seed=0, n=12):
    """``(net, X, T, theta)``: the network, ``n`` inputs, targets in ``(0.05, 0.95)`` and a
    random θ, all from ``seed``."""
    net = MLP([2, 1, 1], ["tanh", "sigmoid"], "bce", dtype=np.float64)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    T = rng.uniform(0.05, 0.95, (n, 1))
    theta = rng.standard_normal(net.n_params)
    return net, X, T, theta


def bce(net, theta, X, T):
    """The mean binary cross-entropy of ``net`` at ``theta``, from its naive predictions."""
    y = net.predict(theta, X)
    return float(np.mean(np.sum(-(T * np.log(y) + (1 - T) * np.log(1 - y)), axis=1)))


def fisher(net, theta, X):
    """The Fisher matrix, column by column from ``MLP.fisher_vp`` (checked against complex-step
    Jacobians in ``test_nn_products.py``)."""
    return np.column_stack([net.fisher_vp(theta, X, e) for e in np.eye(net.n_params)])
