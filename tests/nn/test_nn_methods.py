"""The training-method registry (riemannopt.nn.methods): every entry declares what the loop,
the study and the command line need, and its optimizer follows the protocol.  (Training every
method and its checkpoint round trip: tests/nn/test_nn_train.py, parameterised over the
registry.)"""

import re

import numpy as np
import pytest

from riemannopt.errors import MethodError
from riemannopt.integrators.methods import METHODS as INTEGRATORS
from riemannopt.nn import MLP
from riemannopt.nn.datasets import curves
from riemannopt.nn.methods import METHODS, RunSettings, get_method
from riemannopt.nn.objective import Objective
from riemannopt.nn.protocol import Update


def _settings(**kw):
    base = dict(
        seed=0,
        damping=45.0,
        threshold=np.inf,
        max_cg=10,
        chunks=2,
        curvature="fisher",
        curvature_X=None,
        curvature_T=None,
        lr=1e-3,
        batch_size=10,
        cg_options={},
        kind="squared",
    )
    return RunSettings(**(base | kw))


@pytest.fixture(scope="module")
def objective():
    d = curves(40, 10, size=6, seed=3)
    net = MLP([36, 6, 36], ["sigmoid", "sigmoid"], "bce")
    return Objective(net, d.X_train, d.X_train, 2e-5, 0)


@pytest.mark.parametrize("name", METHODS)
def test_entry_declares_what_the_loop_and_the_study_need(name):
    m = METHODS[name]
    assert m.name == name and get_method(name) is m
    assert len(m.description) > 20 and re.search(r"\d{4}|paper|eq\.|§", m.description), m.description
    assert re.fullmatch(r"#[0-9a-f]{6}", m.color)
    if name in INTEGRATORS:  # the same colour in the toy-manifold and the network figures
        assert m.color == INTEGRATORS[name].color
    for entry, (kind, required) in m.state.items():
        assert kind in ("positive", "vector", "count") and isinstance(required, bool), entry


@pytest.mark.parametrize("name", METHODS)
def test_optimizer_follows_the_protocol(name, objective):
    """One step from the initial θ: an Update whose record has the history's fields, a state that
    the entry's checkpoint specification covers (every required entry present), and load()
    accepting that state after one iteration."""
    opt = METHODS[name].build(objective, _settings())
    theta = objective.net.init(0)
    assert set(opt.initial()) == {"damping"}
    opt.warm_up(theta)
    up = opt.step(1, objective.evaluate(theta))
    assert isinstance(up, Update)
    assert set(up.record) == {"damping", "cg_iterations", "rho", "rate", "corrected"}
    assert up.evaluation is None or up.evaluation.theta is up.theta
    state = opt.state()
    spec = METHODS[name].state
    assert set(state) <= set(spec) and {k for k, (_, req) in spec.items() if req} <= set(state)
    METHODS[name].build(objective, _settings()).load(state, up.theta, 1)


def test_unknown_method():
    with pytest.raises(MethodError, match="unknown training method 'sgdx'"):
        get_method("sgdx")
