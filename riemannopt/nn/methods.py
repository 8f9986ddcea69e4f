"""The training methods of :func:`riemannopt.nn.train`: one protocol, one registry.

Every method is a :class:`TrainingMethod` entry of :data:`METHODS` that declares what the loop,
the study and the command line need — its name, a description citing its source, its colour in
figures, whether it uses the curvature (and then whether its rule needs targets on the curvature
data), the entries of its checkpoint state — and builds the run's *optimizer*, an object with
this protocol (:class:`~riemannopt.nn.protocol.Optimizer`):

``initial() -> dict``
    The history's fields of iteration 0 that the method owns (``damping``).
``warm_up(theta)``
    Run every backend product its iterations use once, on two examples, so that compiling
    their kernels is not timed (touching nothing the run depends on).
``step(k, ev) -> Update``
    Iteration ``k`` (from 1) from the evaluation ``ev`` at θ: the new θ, the history's fields
    (``damping``, ``cg_iterations``, ``rho``, ``rate``, ``corrected``) and, if the method
    evaluated the objective at the new θ anyway, that evaluation (otherwise the loop evaluates
    it after the clock stops: Adam needs it only for the history).
``state() -> dict`` / ``load(state, theta, done)``
    What carries over between iterations, on the host, for checkpoints; and its restoration
    after ``done`` iterations (an InputError when the state does not fit them).

:func:`~riemannopt.nn.train` is then a generic loop with no method names in it.  Adding a
method is one class with this protocol and one entry here (CONTRIBUTING.md).
"""

from dataclasses import dataclass, field
from typing import Callable

from riemannopt.errors import MethodError
from riemannopt.nn.adam import Adam
from riemannopt.nn.curvature import Curvature
from riemannopt.nn.hf import HessianFree
from riemannopt.nn.midpoint import TwoPassMidpoint
from riemannopt.nn.ncg import NaturalConjugateGradient
from riemannopt.nn.ngd import MinibatchNaturalGradient
from riemannopt.nn.protocol import Optimizer, RunSettings, Update
from riemannopt.nn.rules import RULES
from riemannopt.nn.sgd import SGD

__all__ = ["TrainingMethod", "Optimizer", "Update", "RunSettings", "METHODS", "get_method"]


@dataclass(frozen=True)
class TrainingMethod:
    """One registered training method.

    Attributes
    ----------
    name : str
        The name :func:`~riemannopt.nn.train` and ``riemannopt nn --methods`` take.
    description : str
        What it is, with its source.
    color : str
        Its colour in figures (the integrators' colour where the method is one of theirs).
    uses_curvature : bool
        Whether its iterations use the curvature (the Fisher or the empirical Fisher on chunks):
        ``curvature``, ``chunks``, ``curvature_data``, ``damping`` apply to it.
    needs_targets : bool
        Whether it needs targets on the curvature data (with the Fisher curvature).
    defaults : dict
        Its own defaults of :func:`~riemannopt.nn.train`'s ``lr`` and ``batch_size`` (when they
        are not given).
    state : dict
        Its checkpoint state, ``{entry: (kind, required)}`` (see
        :func:`~riemannopt.nn.checkpoint.check_checkpoint`).
    build : callable
        ``build(objective, settings)`` → the run's optimizer (see :class:`Optimizer`), from the
        :class:`~riemannopt.nn.objective.Objective` and the :class:`RunSettings`.
    """

    name: str
    description: str
    color: str
    uses_curvature: bool
    state: dict
    build: Callable = field(repr=False)
    needs_targets: bool = False
    defaults: dict = field(default_factory=dict)


_HF_STATE = {"damping": ("positive", True), "warm": ("vector", False), "previous": ("vector", False)}
_ADAM_STATE = {"m": ("vector", True), "s": ("vector", True), "t": ("count", True)}


def _hf_options(s):
    return dict(damping=s.damping, threshold=s.threshold, max_cg=s.max_cg, cg=s.cg_options, rho=s.rho)


def _curvature(objective, s):
    return Curvature(objective, s.curvature, s.chunks, s.curvature_X, s.curvature_T)


def _hessian_free(rule):
    def build(objective, s):
        return HessianFree(objective, _curvature(objective, s), rule, **_hf_options(s))

    return build


def _natural_gradient(objective, s):
    if s.ng_batch is None:  # batch mode with a line search (Pascanu & Bengio's NGD-L)
        return _hessian_free(RULES["ng"])(objective, s)
    return MinibatchNaturalGradient(
        objective, _curvature(objective, s), batch=s.ng_batch, rate=s.ng_rate, **_hf_options(s)
    )


def _minibatch_natural_gradient(objective, s):
    batch = s.ng_batch or max(1, objective.n // 4)  # Pascanu & Bengio: 5000 of CURVES' 20000
    return MinibatchNaturalGradient(objective, _curvature(objective, s), batch=batch, rate=s.ng_rate, **_hf_options(s))


def _ncg(variant):
    def build(objective, s):
        return NaturalConjugateGradient(
            objective, _curvature(objective, s), variant=variant, search=s.ncg_search, **_hf_options(s)
        )

    return build


def _sgd(objective, s):
    return SGD(objective, lr=s.lr, batch_size=s.batch_size, seed=s.seed)


def _two_pass_midpoint(objective, s):
    return TwoPassMidpoint(objective, _curvature(objective, s), **_hf_options(s))


def _adam(objective, s):
    return Adam(objective, lr=s.lr, batch_size=s.batch_size, seed=s.seed)


_NCG_STATE = _HF_STATE | {"direction": ("vector", False), "natural": ("vector", False), "rz": ("positive", False)}


def _hf_method(name, description, color, rule, build=None):
    return TrainingMethod(
        name,
        description,
        color,
        uses_curvature=True,
        state=_HF_STATE,
        build=build or _hessian_free(rule),
        needs_targets=rule.needs_targets,
    )


#: The training methods, by name (colours: the integrators' for the methods of both).
METHODS = {
    m.name: m
    for m in (
        _hf_method(
            "ng",
            "Hessian-free natural gradient (Martens 2010; paper §7.2, App. D–E); with ng_batch, minibatch natural "
            "gradient at a fixed rate (Pascanu & Bengio 2014 §10's NGD; riemannopt.nn.ngd)",
            "#1f77b4",
            RULES["ng"],
            build=_natural_gradient,
        ),
        _hf_method(
            "mid",
            "midpoint integrator (paper §3) as the paper's implementation runs it: two Hessian-free passes, "
            "each with its own solve, λ update and line search (riemannopt.nn.midpoint)",
            "#ff7f0e",
            RULES["ng"],
            build=_two_pass_midpoint,
        ),
        _hf_method(
            "mid1",
            "riemannopt's one-pass midpoint (paper §3's integrator): the midpoint at the unit rate, one λ update "
            "and one line search",
            "#ffbb78",
            RULES["mid1"],
        ),
        _hf_method("geo", "geodesic correction (paper eq. 7)", "#2ca02c", RULES["geo"]),
        _hf_method("geof", "faster geodesic correction (paper eq. 8–9)", "#d62728", RULES["geof"]),
        _hf_method("perturb", "small-curvature correction (paper App. F, eq. 20)", "#17becf", RULES["perturb"]),
        _hf_method(
            "ngd",
            "minibatch natural gradient at a fixed rate, gradient and curvature on different minibatches "
            "(Pascanu & Bengio 2014 §10's NGD: ng_batch examples, default a quarter of the data, rate ng_rate = 1; "
            "riemannopt.nn.ngd)",
            "#1a9850",
            RULES["ng"],
            build=_minibatch_natural_gradient,
        ),
        TrainingMethod(
            "ncg-f",
            "natural conjugate gradient with Polak–Ribière, ignoring the change of metric (Pascanu & Bengio 2014 "
            "§9–10's NCG-F; riemannopt.nn.ncg)",
            "#6a3d9a",
            uses_curvature=True,
            state=_NCG_STATE,
            build=_ncg("f"),
        ),
        TrainingMethod(
            "ncg-l",
            "natural conjugate gradient with the two-dimensional search of Pascanu & Bengio 2014 eq. 21–22 "
            "(NCG-L; riemannopt.nn.ncg)",
            "#b15928",
            uses_curvature=True,
            state=_NCG_STATE,
            build=_ncg("l"),
        ),
        TrainingMethod(
            "sgd",
            "stochastic gradient descent, an epoch of minibatches at a fixed rate per iteration (Pascanu & Bengio "
            "2014 §10: 100 examples, rate 0.01)",
            "#525252",
            uses_curvature=False,
            state={},
            build=_sgd,
            defaults={"lr": 0.01, "batch_size": 100},
        ),
        TrainingMethod(
            "adam",
            "Adam (Kingma & Ba 2015): one full-batch step per iteration at rate 10⁻³ as in the paper's Figure 3 "
            "(batch_size=None), or an epoch of minibatches per iteration",
            "#bcbd22",
            uses_curvature=False,
            state=_ADAM_STATE,
            build=_adam,
            defaults={"lr": 1e-3, "batch_size": None},
        ),
    )
}


def get_method(name):
    """The :class:`TrainingMethod` called ``name``; a MethodError otherwise."""
    if not isinstance(name, str) or name not in METHODS:
        raise MethodError(f"unknown training method {name!r}; expected one of {list(METHODS)}")
    return METHODS[name]
