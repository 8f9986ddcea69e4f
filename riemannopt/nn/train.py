"""Training a network with Hessian-free natural gradient, its corrections, or Adam (paper §7.2).

:func:`train` is the one loop: it validates everything, builds the objective
(:mod:`~riemannopt.nn.objective`) and the method's optimizer (the registry
:mod:`~riemannopt.nn.methods`, whose entries all follow one protocol), then runs the
iterations, recording the history, showing progress, writing checkpoints and calling the
callback.  No method is named in it.  Only scalars cross from the backend to the host per
iteration (checkpoints excepted).
"""

import math
import time
from dataclasses import dataclass

import numpy as np

from riemannopt._checks import _short, check_number
from riemannopt._io import check_destination, deferred_interrupt
from riemannopt._threads import blas_threads
from riemannopt.errors import InputError, MethodError, NonFiniteError, TrainingError
from riemannopt.nn.cg import check_cg_options
from riemannopt.nn.checkpoint import check_checkpoint, load_checkpoint, save_checkpoint
from riemannopt.nn.curvature import CURVATURES
from riemannopt.nn.losses import LOSSES
from riemannopt.nn.methods import METHODS, RunSettings, get_method
from riemannopt.nn.mlp import MLP, float_dtype
from riemannopt.nn.ncg import NCG_SEARCHES
from riemannopt.nn.objective import Objective, error_kind
from riemannopt.progress import progress as progress_bar

__all__ = ["train", "TrainResult", "METHODS", "HISTORY_KEYS"]

#: Keys of :attr:`TrainResult.history` (``test_loss`` and ``test_error`` only with test data).
HISTORY_KEYS = (
    "iteration",
    "train_loss",
    "train_error",
    "test_loss",
    "test_error",
    "seconds",
    "cpu_seconds",
    "damping",
    "cg_iterations",
    "evaluations",
    "rho",
    "rate",
    "corrected",
)

_CG_OPTIONS = ("eps", "tol", "min_gap", "gap_ratio")


@dataclass
class TrainResult:
    """What :func:`train` returns (and a :class:`~riemannopt.errors.TrainingError` carries).

    Attributes
    ----------
    theta : ndarray
        The final parameters (on the host, in the run's dtype).
    history : dict
        Equal-length arrays, entry ``k`` for iteration ``k`` (entry 0: the initial parameters):
        ``iteration``; ``train_loss`` (mean negative log-likelihood, without weight decay);
        ``train_error`` (the paper's error: squared reconstruction error for ``squared`` and
        ``bce`` networks, classification error for ``softmax_ce``); ``test_loss`` and
        ``test_error`` (with test data); ``seconds`` (cumulative wall time of the optimization,
        excluding test evaluations, checkpoints and callbacks, for Adam the full-data loss
        computed only for this history, and the kernels' compilation, done before the clock
        starts); ``cpu_seconds`` (the same in processor time of this
        process, all threads: steadier than wall time on a shared machine); ``damping`` (the λ
        used at that iteration; NaN for Adam); ``cg_iterations`` (CG steps of all solves);
        ``evaluations`` (forward passes on the whole training set: CG-iterate backtracking, the
        line search, ``mid``'s midpoint; 0 for Adam); ``rho`` (reduction ratio of the
        proposed step); ``rate`` (accepted line-search rate, 0 for a rejected step; Adam's
        learning rate); ``corrected`` (whether the correction of ``mid``/``geo``/``geof``/
        ``perturb`` was on).
    method : str
    net : MLP
        The network trained (in the run's dtype).
    interrupted : bool
        True when the run was stopped by Ctrl-C (the result is what was done before).
    """

    theta: np.ndarray
    history: dict
    method: str
    net: object
    interrupted: bool = False

    def __repr__(self):
        n = len(self.history["iteration"]) - 1
        last = self.history["train_error"][-1]
        flag = ", interrupted" if self.interrupted else ""
        return f"TrainResult({self.method}, {n} iterations, train_error={last:.6g}{flag})"


class _History:
    def __init__(self, keys):
        self.keys = keys
        self.rows = {k: [] for k in keys}

    def append(self, record):
        for k in self.keys:
            self.rows[k].append(record[k])

    def load(self, arrays):
        """Take over a checkpoint's history (validated by :func:`check_checkpoint`)."""
        self.rows = {k: list(arrays[k]) for k in self.keys}

    def arrays(self):
        out = {}
        for k in self.keys:
            dtype = bool if k == "corrected" else int if k in ("iteration", "cg_iterations", "evaluations") else float
            out[k] = np.array(self.rows[k], dtype=dtype)
        return out


# -- argument checks ------------------------------------------------------------------------------


def _curvature_arrays(net, data, seed):
    """``curvature_data`` (inputs, or ``(inputs, targets)``) validated, shuffled, on the backend."""
    if isinstance(data, tuple):
        if len(data) != 2:
            raise InputError(f"curvature_data must be inputs X or a pair (X, T), got a tuple of {len(data)}")
        X, T = data
    else:
        X, T = data, None
    ops = net.backend
    X = net.inputs(X)
    n = int(X.shape[0])
    order = np.random.default_rng([seed, 1]).permutation(n)
    Xs = ops.asarray(ops.to_numpy(X)[order], "curvature_data")
    if T is None:
        return Xs, None
    T = net.targets(T, n)
    return Xs, ops.asarray(ops.to_numpy(T)[order], "curvature_data targets")


def _config(net, method, n, settings):
    return dict(
        method=method,
        sizes=list(net.sizes),
        activations=list(net.activations),
        loss=net.loss_name,
        dtype=net.dtype.name,
        n_train=n,
        **settings,
    )


# -- the loop ------------------------------------------------------------------------------------


@blas_threads()
def train(
    net,
    X,
    T,
    method,
    iters,
    *,
    seed=0,
    X_test=None,
    T_test=None,
    theta0=None,
    damping=45.0,
    threshold=10.0,
    max_cg=50,
    weight_decay=1e-5,
    decay_biases=True,
    decay_in_curvature=False,
    rho="chunk",
    chunks=4,
    curvature="fisher",
    curvature_data=None,
    dtype=np.float32,
    lr=None,
    batch_size=None,
    ng_batch=None,
    ng_rate=1.0,
    ncg_search="cobyla",
    cg_options=None,
    progress=None,
    callback=None,
    checkpoint=None,
    resume=None,
):
    """Train ``net`` on ``(X, T)`` for ``iters`` iterations of ``method`` (paper §7.2, App. D–F).

    The Hessian-free methods follow Martens (2010) — truncated preconditioned CG on the damped
    Fisher ``F + λI`` (= generalized Gauss-Newton) with Martens' stopping rule, warm start from
    0.95 × the previous solution, CG-iterate backtracking, preconditioner
    ``(diag(F_emp) + λ)^¾``, Levenberg–Marquardt damping, Armijo line search on the rate, weight
    decay, curvature minibatches cycled per iteration, sparse initialization — and differ only in
    their direction rule (:mod:`riemannopt.nn.rules`; one iteration is described in
    :mod:`riemannopt.nn.hf`).

    The BLAS library runs on one thread during training, faster for these products than
    several on a shared machine, unless ``OPENBLAS_NUM_THREADS`` (or the like) is set or the call
    is inside a ``with riemannopt.blas_threads(n):`` block.

    Parameters
    ----------
    net : MLP
        The architecture (its backend is used; its dtype is replaced by ``dtype``).
    X, T : array_like
        Training inputs (one row per example) and targets (``softmax_ce`` also takes integer
        labels).
    method : str
        A key of the registry :data:`~riemannopt.nn.METHODS` (:mod:`riemannopt.nn.methods`):
        ``ng``: Hessian-free natural gradient; ``mid``: the paper's two-pass midpoint (§3);
        ``mid1``: riemannopt's one-pass midpoint; ``geo``: geodesic correction (eq. 7);
        ``geof``: faster geodesic correction (eq. 8–9); ``perturb``: the small-curvature
        correction of App. F (eq. 20); ``ncg-f``, ``ncg-l``: natural conjugate gradient
        (Pascanu & Bengio §9); ``sgd``; ``adam``.
    iters : int
        Iterations to run (in total, counting those of a resumed checkpoint).
    seed : int
        Seed of the sparse initialization, the shuffle of the examples (which fixes the
        curvature chunks) and Adam's minibatch order.
    X_test, T_test : array_like, optional
        Test data, evaluated after every iteration (not timed).
    theta0 : array_like, optional
        Initial parameters instead of ``net.init(seed)`` (Martens' sparse initialization).
    damping : float
        Initial λ (paper App. E: 45).
    threshold : float
        Corrections of ``mid``, ``geo``, ``geof`` and ``perturb`` are on only while λ <
        threshold (paper App. D; App. E uses 5 for CURVES, 10 for MNIST, 0.1 for FACES).  0
        turns them off (the method is then exactly ``ng``); ``inf`` keeps them on.
    max_cg : int
        Cap on the CG steps of each linear solve (paper: 50).
    weight_decay : float
        ``w`` of ``½·w·‖m ⊙ θ‖²`` added to the objective (the paper's code: 10⁻⁵ on every
        parameter; Martens 2010: 2·10⁻⁵ on the weights).
    decay_biases : bool
        Whether the biases are decayed too (the paper's code: yes; riemannopt before: no).
    decay_in_curvature : bool
        Whether ``w·diag(m)`` is added to the curvature products.  The paper's code leaves it out:
        the decay enters only the gradient, the objective and the preconditioner's diagonal.
    rho : {"chunk", "full"}
        Where the reduction ratio ρ of the Levenberg–Marquardt rule is measured: on the
        iteration's curvature chunk, against the chunk's curvature without the decay (Martens
        2010 §4.1 and the paper's code; needs targets on the curvature data), or on the whole
        training set (riemannopt's earlier variant).
    chunks : int
        The curvature is computed on one of ``chunks`` minibatches per iteration, in turn
        (Martens 2010); 1 uses all the curvature data every time.  The paper's code: 4 for
        CURVES, 8 for MNIST, 20 for FACES (the presets carry them).
    curvature : {"fisher", "empirical"}
        The Fisher (default) or the empirical Fisher of Martens' *New perspectives* §7 (for
        comparison; needs targets).
    curvature_data : array_like or (array_like, array_like), optional
        Examples for the curvature instead of the training set (Pascanu & Bengio §7): inputs
        only (the Fisher needs no targets), or ``(X, T)`` for ``curvature="empirical"`` and
        ``perturb``.
    dtype : {numpy.float32, numpy.float64}
        Floating type of θ and of every computation (float32 is the fast default).
    lr, batch_size : float, int or None
        The learning rate and minibatch size of ``adam`` and ``sgd``; ``None``: the method's
        own defaults — Adam 10⁻³ with one full-batch step per iteration (the paper's Figure 3
        baseline; an ``int`` runs an epoch of minibatches per iteration), SGD 0.01 on
        minibatches of 100 (Pascanu & Bengio §10).
    ng_batch, ng_rate : int or None, float
        Minibatch natural gradient (Pascanu & Bengio §10's NGD, :mod:`riemannopt.nn.ngd`):
        ``ngd`` always, ``ng`` when ``ng_batch`` is given — minibatches of ``ng_batch`` examples
        (``ngd``'s default: a quarter of the training set), the gradient and the curvature on
        different minibatches, the fixed rate ``ng_rate``.  ``ng`` without ``ng_batch`` runs on
        all the data with the line search (their NGD-L).
    ncg_search : {"cobyla", "model"}
        How ``ncg-l`` solves its two-dimensional problem (eq. 21 of Pascanu & Bengio): scipy's
        COBYLA as they do, or the damped quadratic model on the plane (:mod:`riemannopt.nn.ncg`).
    cg_options : dict, optional
        Further options of :func:`~riemannopt.nn.solve_damped` among ``eps``, ``tol``,
        ``min_gap``, ``gap_ratio`` (``eps=0`` runs every solve for exactly ``max_cg`` steps).
    progress : bool, optional
        Show a tqdm bar (loss, λ, CG steps); default: when stderr is a terminal.
    callback : callable, optional
        ``callback(iteration, record, theta)`` after every iteration, with ``record`` that
        iteration's history entries and ``theta`` a backend vector (do not modify it); a return
        value of ``True`` stops training.
    checkpoint : str or Path, optional
        Write θ, the optimizer's state, the history and the settings to this ``.npz`` after
        every iteration, atomically and safely against Ctrl-C (the file on disk is always the
        whole of one iteration, the last one the returned result holds).  Checked before any
        work: it must be a writable file path.
    resume : str or Path, optional
        Continue from a checkpoint written with the same network, data size, method and
        settings; ``iters`` counts the iterations already done.  The checkpoint is validated
        whole first (its settings against this run's; θ and the optimizer's state against the
        network's length and dtype; the history's entries, their lengths and iteration
        numbers).  ``iters`` equal to the iterations it holds returns its result unchanged;
        fewer is refused (an InputError: θ after fewer iterations was not kept).

    Returns
    -------
    TrainResult
        ``.theta``, ``.history`` (see :class:`TrainResult`).  Ctrl-C ends the run early with the
        result so far (``.interrupted`` set): from the end of the first evaluation on (before
        it there is no result, and KeyboardInterrupt propagates); a Ctrl-C while an iteration
        is being recorded and checkpointed takes effect once it is.

    Raises
    ------
    MethodError
        Unknown method, curvature, or dtype.
    ShapeError, InputError
        A ``net`` that is not an :class:`MLP`, bad data (also data whose squares overflow
        ``dtype``), bad option values (``cg_options`` included), a checkpoint path that cannot
        be written, a checkpoint to resume that is unreadable, incomplete or does not match the
        run (all before any work).
    TrainingError
        A non-finite gradient, curvature product or loss mid-run, or a checkpoint that could not
        be written; ``.result`` holds the :class:`TrainResult` so far and ``.iteration`` the
        failing iteration.
    """
    if not isinstance(net, MLP):
        raise InputError(f"net must be a riemannopt.nn.MLP (the architecture to train), got {_short(net)}")
    entry = get_method(method)
    if not isinstance(curvature, str) or curvature not in CURVATURES:
        raise MethodError(f"unknown curvature {curvature!r}; expected one of {list(CURVATURES)}")
    dtype = float_dtype(dtype, "dtype")
    iters = check_number(iters, "iters", low=0, integer=True)
    seed = check_number(seed, "seed", low=0, integer=True)
    damping = check_number(damping, "damping", low=0, strict=True)
    threshold = check_number(threshold, "threshold", low=0, allow_inf=True)
    max_cg = check_number(max_cg, "max_cg", low=1, integer=True)
    weight_decay = check_number(weight_decay, "weight_decay", low=0)
    if not isinstance(decay_biases, (bool, np.bool_)) or not isinstance(decay_in_curvature, (bool, np.bool_)):
        raise InputError(
            f"decay_biases and decay_in_curvature must be True or False, got {decay_biases!r}, {decay_in_curvature!r}"
        )
    if rho not in ("chunk", "full"):
        raise InputError(f"rho must be 'chunk' or 'full', got {rho!r}")
    chunks = check_number(chunks, "chunks", low=1, integer=True)
    if lr is None:
        lr = entry.defaults.get("lr", 1e-3)
    lr = check_number(lr, "lr", low=0, strict=True)
    if batch_size is None:
        batch_size = entry.defaults.get("batch_size")
    if ng_batch is not None:
        ng_batch = check_number(ng_batch, "ng_batch", low=1, integer=True)
    ng_rate = check_number(ng_rate, "ng_rate", low=0, strict=True)
    if ncg_search not in NCG_SEARCHES:
        raise InputError(f"ncg_search must be one of {list(NCG_SEARCHES)}, got {ncg_search!r}")
    if batch_size is not None:
        batch_size = check_number(batch_size, "batch_size", low=1, integer=True)
    if cg_options is not None and not isinstance(cg_options, dict):
        raise InputError(f"cg_options must be a dict of options of solve_damped, got {_short(cg_options)}")
    cg_options = dict(cg_options or {})
    unknown = sorted(set(cg_options) - set(_CG_OPTIONS), key=str)
    if unknown:
        raise InputError(f"cg_options may set {list(_CG_OPTIONS)}, not {unknown}")
    checked = check_cg_options(**cg_options, name="cg_options[{!r}]")
    cg_options = {k: checked[k] for k in cg_options}
    if callback is not None and not callable(callback):
        raise InputError(f"callback must be callable, got {callback!r}")
    if (X_test is None) != (T_test is None):
        raise InputError("give both X_test and T_test, or neither")
    if checkpoint is not None:
        checkpoint = check_destination(checkpoint, "checkpoint")

    if net.dtype != dtype:
        net = net.replace(dtype=dtype)
    ops = net.backend
    objective = Objective(
        net, X, T, weight_decay, seed, decay_biases=bool(decay_biases), decay_in_curvature=bool(decay_in_curvature)
    )
    _check_scale(ops, objective.X, "X", dtype)
    if LOSSES[net.loss_name].targets == "real":  # bounded targets ("unit", "distribution") cannot overflow
        _check_scale(ops, objective.T, "T", dtype)
    kind = error_kind(net.loss_name)
    test = None
    if X_test is not None:
        Xt = net.inputs(X_test)
        test = (Xt, net.targets(T_test, Xt.shape[0]))
    curv_X = curv_T = None
    if curvature_data is not None:
        curv_X, curv_T = _curvature_arrays(net, curvature_data, seed)
        _check_scale(ops, curv_X, "curvature_data", dtype)
    n_curv = objective.n if curv_X is None else int(curv_X.shape[0])
    if chunks > n_curv:
        raise InputError(f"chunks must be at most the {n_curv} curvature examples, got {chunks}")
    needs_targets = entry.uses_curvature and (curvature == "empirical" or entry.needs_targets or rho == "chunk")
    if curvature_data is not None and curv_T is None and needs_targets:
        need = (
            "the empirical Fisher"
            if curvature == "empirical"
            else f"method {method!r}"
            if entry.needs_targets
            else "rho='chunk' (the reduction ratio on the curvature chunk)"
        )
        hint = " or rho='full'" if need.startswith("rho") else ""
        raise InputError(f"{need} needs targets on the curvature data: pass curvature_data=(X, T){hint}")
    theta = net.init(seed) if theta0 is None else theta0
    theta = ops.copy(net.vector(theta, "theta0"))

    settings = dict(
        seed=seed,
        damping=damping,
        threshold=threshold,
        max_cg=max_cg,
        weight_decay=weight_decay,
        decay_biases=bool(decay_biases),
        decay_in_curvature=bool(decay_in_curvature),
        rho=rho,
        chunks=chunks,
        curvature=curvature,
        curvature_examples=None if curv_X is None else n_curv,
        lr=lr,
        batch_size=batch_size,
        ng_batch=ng_batch,
        ng_rate=ng_rate,
        ncg_search=ncg_search,
        cg_options=cg_options,
    )
    config = _config(net, method, objective.n, settings)
    opt = entry.build(
        objective,
        RunSettings(
            seed=seed,
            damping=damping,
            threshold=threshold,
            max_cg=max_cg,
            chunks=chunks,
            curvature=curvature,
            curvature_X=curv_X,
            curvature_T=curv_T,
            lr=lr,
            batch_size=batch_size,
            cg_options=cg_options,
            kind=kind,
            rho=rho,
            ng_batch=ng_batch,
            ng_rate=ng_rate,
            ncg_search=ncg_search,
        ),
    )

    keys = tuple(k for k in HISTORY_KEYS if test is not None or not k.startswith("test_"))
    history = _History(keys)
    if resume is not None:
        theta_host, state, arrays = check_checkpoint(
            resume,
            load_checkpoint(resume),
            config=config,
            n_params=net.n_params,
            dtype=dtype,
            state_spec=entry.state,
            history_keys=keys,
        )
        done = len(arrays["iteration"]) - 1
        if iters < done:
            raise InputError(
                f"cannot resume from {str(resume)!r} with iters={iters}: it already holds {done} iterations "
                f"(only the parameters after the last one are kept); pass iters >= {done}"
            )
        theta = ops.copy(ops.asarray(theta_host, "theta"))
        try:
            opt.load(state, theta, done)
        except InputError as exc:
            raise InputError(f"cannot resume from {str(resume)!r}: {exc}") from None
        history.load(arrays)

    def measure(ev, record):
        record["train_loss"] = ev.loss
        record["train_error"] = objective.error(ev, kind)
        if test is not None:
            fwd = ops.forward(ev.theta, test[0])
            record["test_loss"] = ops.loss(fwd, test[1])
            record["test_error"] = ops.error(fwd, test[1], kind)
        return record

    ev = objective.evaluate(theta)
    if not math.isfinite(ev.value):
        raise TrainingError(f"{method}: the objective at the initial parameters is {ev.value}", iteration=0)
    if not history.rows["iteration"]:
        nan = float("nan")
        first = dict(
            iteration=0,
            seconds=0.0,
            cpu_seconds=0.0,
            cg_iterations=0,
            evaluations=0,
            rho=nan,
            rate=nan,
            corrected=False,
            **opt.initial(),
        )
        history.append(measure(ev, first))
    start = int(history.rows["iteration"][-1])
    seconds = float(history.rows["seconds"][-1])
    cpu_seconds = float(history.rows["cpu_seconds"][-1])

    def result(interrupted=False):
        return TrainResult(ops.to_numpy(ev.theta).copy(), history.arrays(), method, net, interrupted)

    interrupted = False
    # Overflow in a rejected candidate step is expected and handled (searches treat a non-finite
    # objective as worse than any other; a non-finite accepted value raises TrainingError), so
    # numpy's warnings about it would only be noise.
    quiet = np.errstate(over="ignore", invalid="ignore", divide="ignore")
    bar = progress_bar(range(start + 1, iters + 1), desc=method, enable=progress, total=max(iters - start, 0))
    try:
        with quiet, bar:
            if start < iters:
                # Ctrl-C is held back over the compilation: numba left mid-compilation would
                # break the kernels for the rest of the process.
                with deferred_interrupt():
                    _warm_up(objective, opt, ev.theta, kind)
            for k in bar:
                t0, c0 = time.perf_counter(), time.process_time()
                evaluations = objective.evaluations
                try:
                    update = opt.step(k, ev)
                    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
                    record = update.record
                    record["evaluations"] = objective.evaluations - evaluations
                    # a method that did not evaluate its new θ has it evaluated for the history,
                    # off the clock and not counted
                    new = update.evaluation or objective.evaluate(update.theta)
                except (NonFiniteError, InputError) as exc:
                    raise TrainingError(f"{method}: iteration {k} failed: {exc}", iteration=k, result=result()) from exc
                if not math.isfinite(new.value):
                    raise TrainingError(
                        f"{method}: the objective became {new.value} at iteration {k}", iteration=k, result=result()
                    )
                record = measure(
                    new, dict(record, iteration=k, seconds=seconds + elapsed, cpu_seconds=cpu_seconds + cpu)
                )
                # The iteration is committed as one event: a Ctrl-C before it leaves the result
                # and the checkpoint at iteration k - 1, one during it is delivered after it.
                with deferred_interrupt():
                    ev = new
                    seconds, cpu_seconds = record["seconds"], record["cpu_seconds"]
                    history.append(record)
                    if checkpoint is not None:
                        try:
                            save_checkpoint(
                                checkpoint,
                                theta=ops.to_numpy(ev.theta),
                                state=opt.state(),
                                history=history.arrays(),
                                config=config,
                            )
                        except OSError as exc:  # e.g. a full disk, or the directory removed
                            raise TrainingError(
                                f"{method}: writing the checkpoint {str(checkpoint)!r} after iteration {k} "
                                f"failed ({exc.strerror or exc}): the file was not updated with iteration {k}, "
                                "which the result holds",
                                iteration=k,
                                result=result(),
                            ) from exc
                bar.set_postfix_str(
                    f"loss={record['train_loss']:.4g} λ={record['damping']:.3g} cg={record['cg_iterations']}",
                    refresh=False,
                )
                if callback is not None and callback(k, record, ev.theta) is True:
                    break
    except KeyboardInterrupt:
        interrupted = True
    try:
        return result(interrupted)
    except KeyboardInterrupt:  # a second Ctrl-C while the result was copied
        return result(True)


def _check_scale(ops, A, name, dtype):
    """An InputError if the squares of ``A``'s entries overflow ``dtype``: the gradient's
    statistics (the empirical Fisher's diagonal of the preconditioner, Adam's second moment) hold
    such squares, and would be infinite from the first iteration on."""
    host = ops.to_numpy(A)
    largest = float(np.abs(host).max()) if host.size else 0.0
    limit = float(np.sqrt(np.finfo(dtype).max))
    if largest > limit:
        i = np.unravel_index(int(np.argmax(np.abs(host))), host.shape)
        raise InputError(
            f"the data overflowed {dtype.name}: {name}[{', '.join(map(str, i))}] = {host[i]:.3g}, and squares of "
            f"entries above {limit:.3g} overflow {dtype.name} (the gradient's second moments need them); "
            f"rescale {name} or train with dtype=float64"
        )


def _warm_up(objective, opt, theta, kind):
    """Run every backend product that the iterations use once, on two examples, so that
    compiling their kernels (numba's, or the GPU's) is not counted in the history's times.

    Only the backend is called: the objective's evaluation count, the optimizer and the data are
    untouched, so the run is the same bit for bit."""
    ops = objective.ops
    X, T = objective.batch(0, min(2, objective.n))
    fwd = ops.forward(theta, X)
    ops.loss(fwd, T)
    ops.error(fwd, T, kind)
    opt.warm_up(theta)
