"""``riemannopt nn``: train a preset network with each method (paper §7.2, Figure 3; App. F)."""

import json
import sys

from riemannopt.cli._args import (
    UsageError,
    figure_path,
    name_list,
    non_negative_float,
    non_negative_int,
    output_path,
    positive_float,
    positive_int,
    positive_int_list,
)

__all__ = ["HELP", "register"]

_DEFAULT_METHODS = "ng,mid,geo,geof,adam"


#: The subcommands this module adds, with their one-line help.
HELP = {
    "nn": "train a deep network with ng, mid, mid1, geo, geof, perturb, adam (Figure 3)",
}


def register(sub):
    from riemannopt.experiments import STUDY_CLOCKS
    from riemannopt.nn import BACKENDS, METHODS, PRESETS
    from riemannopt.nn.curvature import CURVATURES

    presets = "; ".join(f"{name}: {p.description}" for name, p in PRESETS.items())

    def per_preset(field):
        values = {name: getattr(q, field) for name, q in PRESETS.items()}
        if len(set(values.values())) == 1:
            return f"{next(iter(values.values())):g} for every preset"
        return ", ".join(f"{name} {v:g}" for name, v in values.items())

    p = sub.add_parser(
        "nn",
        help=HELP["nn"],
        description="Train one preset network with each method for the same number of iterations (once per "
        "seed), print the mean and range over seeds of the training and test error at fixed iterations and at "
        "fixed time and, seed by seed, on how many seeds each method's training error is below ng's, draw Figure 3's layout (error against iterations, solid; against time, dashed, top axis) "
        "and write the histories as JSON. Exit status 1 if a run failed (its partial history is kept); 130 "
        "if Ctrl-C stopped the study (the runs finished before it, and the stopped run's partial history, "
        "are written and marked).",
    )
    p.add_argument(
        "--dataset",
        default="curves-small",
        choices=list(PRESETS),
        metavar="PRESET",
        help=f"network and data (default: curves-small). {presets}",
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="FILE.npz",
        help="your data (X_train, X_test and, for a classifier, T_train, T_test) instead of the generated "
        "data; required by the mnist presets",
    )
    p.add_argument(
        "--methods",
        type=name_list(METHODS, "method"),
        default=_DEFAULT_METHODS.split(","),
        help=f"comma-separated methods among {', '.join(METHODS)} (default: {_DEFAULT_METHODS})",
    )
    p.add_argument("--iters", type=positive_int, default=40, help="iterations per run (default: 40)")
    p.add_argument(
        "--seeds",
        type=positive_int,
        default=1,
        help="number of seeds: each generates the data and initializes the network (default: 1)",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="first seed (default: 0)")
    p.add_argument("--backend", default="numpy", choices=list(BACKENDS), help="compute backend (default: numpy)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="default: float32")
    p.add_argument(
        "--max-cg", type=positive_int, default=50, help="CG steps per solve at most (default: 50, paper App. E.1)"
    )
    p.add_argument(
        "--damping", type=positive_float, default=45.0, help="initial damping λ (default: 45, paper App. E.1)"
    )
    p.add_argument(
        "--threshold",
        type=non_negative_float,
        default=None,
        help="corrections of mid, mid1, geo, geof, perturb only while λ < threshold (paper App. D); default: the "
        f"preset's, as the paper's code sets per data set (5 CURVES, 10 MNIST, 0.1 FACES): {per_preset('threshold')}; "
        "0: never, inf: always",
    )
    p.add_argument(
        "--weight-decay",
        type=non_negative_float,
        default=None,
        metavar="W",
        help="w of the decay ½·w·‖θ‖² added to the objective (default: the preset's, as the paper's code's "
        f"weightcost: {per_preset('weight_decay')}; Martens 2010: 2e-5 on the weights only)",
    )
    p.add_argument(
        "--decay-biases",
        dest="decay_biases",
        action="store_true",
        default=True,
        help="decay the biases too (the default, as the paper's code)",
    )
    p.add_argument(
        "--no-decay-biases",
        dest="decay_biases",
        action="store_false",
        help="decay the weights only (Martens 2010)",
    )
    p.add_argument(
        "--decay-in-curvature",
        action="store_true",
        help="add w·I (the decay's curvature) to the curvature products too; by default it enters only the "
        "gradient, the objective and the preconditioner, as in the paper's code",
    )
    p.add_argument(
        "--rho",
        default="chunk",
        choices=["chunk", "full"],
        help="where the reduction ratio ρ of the Levenberg-Marquardt damping rule is measured: chunk: on the "
        "iteration's curvature chunk, against its curvature without the decay (Martens 2010 §4.1 and the paper's "
        "code; the default); full: on the whole training set",
    )
    p.add_argument(
        "--chunks",
        type=positive_int,
        default=None,
        metavar="N",
        help="curvature minibatches: the training set is split into N chunks and each iteration computes the "
        "curvature on the next one, in turn (Martens 2010 §4.3); default: the preset's, as the paper's code's numchunks (4 CURVES, 8 MNIST, 20 "
        f"FACES): {per_preset('chunks')}",
    )
    p.add_argument(
        "--adam-batch",
        type=positive_int,
        default=None,
        metavar="N",
        help="Adam's minibatch size: one iteration is then an epoch of minibatch steps; default: one step with "
        "the full-batch gradient per iteration, the paper's Figure 3 baseline",
    )
    p.add_argument(
        "--ncg-search",
        default="cobyla",
        choices=["cobyla", "model"],
        help="how ncg-l solves its two-dimensional search (Pascanu & Bengio eq. 21): scipy's COBYLA as they do, "
        "or the damped quadratic model on the plane (default: cobyla)",
    )
    p.add_argument(
        "--ng-batch",
        type=positive_int,
        default=None,
        metavar="N",
        help="ngd's minibatch (Pascanu & Bengio's NGD; default: a quarter of the training set)",
    )
    p.add_argument("--curvature", default="fisher", choices=list(CURVATURES), help="default: fisher")
    p.add_argument(
        "--clock",
        default="cpu",
        choices=list(STUDY_CLOCKS),
        help="time axis and fixed-time columns: processor time (steady on a shared machine) or wall time "
        "(default: cpu)",
    )
    p.add_argument("--out", type=figure_path, default="nn.png", help="figure file (default: nn.png)")
    p.add_argument(
        "--layout",
        default="song",
        choices=["song", "pascanu"],
        help="the figure: the paper's Figure 3 (error against iterations and time on linear axes) or "
        "Pascanu & Bengio's (two panels, logarithmic axes; default: song)",
    )
    p.add_argument(
        "--history",
        type=output_path,
        default=None,
        metavar="FILE.json",
        help="write every run's history to this JSON file, rewritten after each run (a study "
        "stopped by Ctrl-C, SIGTERM or even SIGKILL goes on with --resume FILE.json)",
    )
    p.add_argument(
        "--table-iters",
        type=positive_int_list,
        default=None,
        metavar="K,K,...",
        help="iterations at which the table reports errors (default: half and all of --iters)",
    )
    p.add_argument("--title", default=None, help="figure title")
    p.add_argument(
        "--from-history",
        default=None,
        metavar="FILE.json",
        help="redraw the tables and the figure of a study saved with --history, without training",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="FILE.json",
        help="go on with a study saved with --history (stopped by Ctrl-C, say): its finished runs are kept and "
        "only the others are trained, with the same settings; the history is written back to FILE.json "
        "unless --history names another file",
    )
    p.set_defaults(run=run, check=check)


def check(args):
    from riemannopt._io import check_destination
    from riemannopt.errors import BackendUnavailableError, InputError, ShapeError
    from riemannopt.nn import get_backend, get_preset
    from riemannopt.nn.datasets import load_npz

    if args.from_history is not None:
        args.study = _load_study(args.from_history, "--from-history")
        if args.table_iters is not None and args.table_iters[-1] > args.study.iters:
            raise UsageError(
                f"--table-iters: iteration {args.table_iters[-1]} is beyond the {args.study.iters} iterations "
                f"of the study in {args.from_history}"
            )
        return

    args.resume_study = None
    if args.resume is not None:
        args.resume_study = _load_study(args.resume, "--resume")
        if args.history is None:
            try:
                args.history = str(check_destination(args.resume, "--resume"))
            except InputError as exc:
                raise UsageError(str(exc)) from None
    try:
        get_backend(args.backend)
    except BackendUnavailableError as exc:
        raise UsageError(f"--backend {args.backend}: {exc}") from None
    preset = get_preset(args.dataset)
    args.dataset_obj = None
    if args.data is not None:
        try:
            args.dataset_obj = load_npz(args.data)
        except (InputError, ShapeError) as exc:
            raise UsageError(f"--data: {exc}") from None
        d = args.dataset_obj
        if d.X_train.shape[1] != preset.sizes[0]:
            raise UsageError(
                f"--data: {args.data} has {d.X_train.shape[1]} inputs, the {args.dataset} network takes {preset.sizes[0]}"
            )
        n_out = preset.sizes[-1]
        if d.task == "autoencoder" and preset.sizes[0] != n_out:
            raise UsageError(
                f"--data: {args.data} has no targets (T_train, T_test), but {args.dataset} is a classifier"
            )
        if d.task == "classifier" and int(max(d.T_train.max(), d.T_test.max())) >= n_out:
            raise UsageError(f"--data: labels must lie in [0, {n_out}) for {args.dataset}")
        if d.task == "supervised" and d.T_train.shape[1] != n_out:
            raise UsageError(f"--data: targets have {d.T_train.shape[1]} columns, {args.dataset} has {n_out} outputs")
    elif preset.data is None:
        raise UsageError(f"--dataset {args.dataset} has no generated data: pass your arrays with --data FILE.npz")
    else:
        try:
            preset.check_data()
        except BackendUnavailableError as exc:
            raise UsageError(f"--dataset {args.dataset}: {exc}") from None
    if args.table_iters is not None and args.table_iters[-1] > args.iters:
        raise UsageError(f"--table-iters: iteration {args.table_iters[-1]} is beyond --iters {args.iters}")
    n = args.dataset_obj.n_train if args.dataset_obj is not None else preset.n_train
    chunks = preset.chunks if args.chunks is None else args.chunks
    if chunks > n:
        what = f"--chunks {chunks}" if args.chunks is not None else f"the {args.dataset} preset's {chunks} chunks"
        hint = "" if args.chunks is not None else " (set fewer with --chunks)"
        raise UsageError(f"{what} exceeds the {n} training examples of {args.data or args.dataset}{hint}")


def _load_study(path, option):
    from riemannopt.errors import InputError
    from riemannopt.experiments import NNStudy

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:  # not JSON, or not UTF-8
        raise UsageError(f"{option}: {path} is not a JSON file written by --history ({exc})") from None
    try:
        return NNStudy.from_json(data)
    except InputError as exc:
        raise UsageError(f"{option}: {path}: {exc}") from None


def _method_options(args):
    """The options that reach one method only."""
    out = {}
    if args.adam_batch is not None:
        out["adam"] = {"batch_size": args.adam_batch}
    if args.ncg_search != "cobyla":
        out["ncg-l"] = {"ncg_search": args.ncg_search}
    if args.ng_batch is not None:
        out["ngd"] = {"ng_batch": args.ng_batch}
    return out or None


def run(args):
    import numpy as np

    from riemannopt.errors import InputError
    from riemannopt.experiments import nn_study

    if args.from_history is not None:
        return _report(args.study, args)

    from riemannopt.nn import get_preset

    preset = get_preset(args.dataset)
    options = dict(
        preset.training_options(),
        max_cg=args.max_cg,
        damping=args.damping,
        decay_biases=args.decay_biases,
        decay_in_curvature=args.decay_in_curvature,
        rho=args.rho,
        curvature=args.curvature,
        dtype=np.dtype(args.dtype),
    )
    for key in ("threshold", "weight_decay", "chunks"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    seeds = tuple(range(args.seed, args.seed + args.seeds))
    adam = "full batch" if args.adam_batch is None else f"minibatches of {args.adam_batch}"
    print(
        f"riemannopt nn: {args.dataset}, methods {', '.join(args.methods)}, {args.iters} iterations, "
        f"seed(s) {', '.join(map(str, seeds))}, {args.backend} backend, {args.dtype}\n"
        f"  threshold {options['threshold']:g}, {options['chunks']} curvature chunks, rho on "
        f"{'the chunk' if args.rho == 'chunk' else 'the full training set'}, weight decay {options['weight_decay']:g} "
        f"({'weights and biases' if args.decay_biases else 'weights only'}"
        f"{', in the curvature too' if args.decay_in_curvature else ''}), Adam {adam}"
    )
    try:
        study = nn_study(
            args.dataset,
            args.methods,
            args.iters,
            seeds,
            data=args.dataset_obj,
            backend=args.backend,
            resume=args.resume_study,
            method_options=_method_options(args),
            on_run=_save_history(args),
            **options,
        )
    except InputError as exc:  # a saved study that is not this one: found before any training
        print(f"riemannopt nn: error: --resume {args.resume}: {exc}", file=sys.stderr)
        return 2
    return _report(study, args)


def _save_history(args):
    """The study's ``on_run``: rewrite ``--history`` after every finished run (a resumable
    study: a run killed outright, beyond Ctrl-C or SIGTERM, loses only the run in progress)."""
    if args.history is None:
        return None
    from riemannopt._io import atomic_write

    return lambda study: atomic_write(args.history, json.dumps(study.to_json()))


def _report(study, args):
    """Write the history, print the tables and write the figure; a Ctrl-C meanwhile is held back
    until all of it is done (then the command exits 130), so a second Ctrl-C after the one that
    stopped the study cannot lose what it kept."""
    from riemannopt._io import atomic_write, deferred_interrupt, save_figure

    with deferred_interrupt():
        if args.history is not None:
            atomic_write(args.history, json.dumps(study.to_json()))
        print(study.table(iterations=args.table_iters, clock=args.clock))
        other = "wall" if args.clock == "cpu" else "cpu"
        print(study.table(clock=other, with_iterations=False))
        paired = study.paired_table(iterations=args.table_iters, clock=args.clock)
        if paired:
            print(paired)
        save_figure(study.figure(clock=args.clock, title=args.title, layout=args.layout), args.out, dpi=120)
        print(f"figure written to {args.out}")
        if args.history is not None:
            print(f"histories written to {args.history}")
    if study.interrupted and args.from_history is None:
        hint = (
            f"; the finished runs are kept in {args.history} (go on with --resume {args.history})"
            if args.history
            else ""
        )
        print(f"riemannopt nn: {study.interruption()}{hint}", file=sys.stderr)
        return 130
    return 1 if study.failures else 0
