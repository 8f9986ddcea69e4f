"""``riemannopt rl``: natural policy gradient with ``ng``, ``mid`` and ``geo`` (paper §7.3, Figure 4)."""

import argparse
import dataclasses
import sys

from riemannopt._io import deferred_interrupt
from riemannopt.cli._args import (
    UsageError,
    figure_path,
    name_list,
    output_path,
    positive_float,
    positive_int,
    positive_int_list,
)

__all__ = ["HELP", "register"]

_METHODS = ("ng", "mid", "geo")
_CURVATURES = ("fisher", "kfac")  # riemannopt.rl.CURVATURES, without importing riemannopt.rl


def _env_list(text):
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected at least one environment id")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"environments must be distinct, got {text!r}")
    return names


#: The subcommands this module adds, with their one-line help.
HELP = {
    "rl": "natural policy gradient with midpoint and geodesic correction (Figure 4)",
}


def register(sub):
    p = sub.add_parser(
        "rl",
        help=HELP["rl"],
        description="Train Gaussian (continuous actions) or categorical (discrete actions) MLP policies on "
        "gymnasium environments by natural policy gradient (exact Fisher-vector products with truncated CG, "
        "or ACKTR's Kronecker-factored Fisher; GAE with a value baseline), updated by ng, mid (midpoint) or "
        "geo (geodesic correction); plot average episode return against environment steps, mean and spread "
        "over seeds, and print the returns at fixed step counts. "
        "A run that fails is kept with what it computed and the study goes on; Ctrl-C ends the study and "
        "writes the runs finished so far. Exit status 130 if interrupted, 1 if a run failed (both marked in "
        "the table, the figure and the history), 0 otherwise. "
        'Needs the rl extra: pip install "riemannopt[rl]".',
    )
    p.add_argument(
        "--env",
        type=_env_list,
        default=["Pendulum-v1"],
        help="comma-separated gymnasium environment ids, one panel each (default: Pendulum-v1)",
    )
    p.add_argument(
        "--methods",
        type=name_list(_METHODS, "method"),
        default=list(_METHODS),
        help="comma-separated methods among ng, mid, geo (default: all three)",
    )
    p.add_argument(
        "--timesteps",
        type=positive_int,
        default=200_000,
        help="environment steps per run, at least one batch (--envs × --steps-per-env), rounded up to whole "
        "batches (default: 200000)",
    )
    p.add_argument("--seeds", type=positive_int, default=3, help="number of seeds, 0 .. N-1 (default: 3)")
    p.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help="learning rate η, the largest step (default: per environment, riemannopt.rl.default_lr: "
        "tuned here by the paper's protocol, else the paper's App. E.2 value, else 0.3)",
    )
    p.add_argument(
        "--max-kl",
        type=_kl,
        default=0.01,
        help="trust region δ: the step r = min(η, sqrt(2δ / dᵀFd)); 'none' for fixed steps (default: 0.01)",
    )
    p.add_argument("--damping", type=positive_float, default=1e-2, help="λ of the damped Fisher F + λI (default: 0.01)")
    p.add_argument(
        "--curvature",
        choices=_CURVATURES,
        default="fisher",
        help="fisher: the Fisher itself, by exact Fisher-vector products with truncated CG; kfac: ACKTR's "
        "Kronecker-factored Fisher (default: fisher)",
    )
    p.add_argument("--cg-iters", type=positive_int, default=10, help="the most CG steps per solve (default: 10)")
    p.add_argument("--envs", type=positive_int, default=8, help="parallel environments (default: 8)")
    p.add_argument(
        "--steps-per-env",
        type=positive_int,
        default=256,
        help="steps of each environment per batch (default: 256; a batch is envs × this)",
    )
    p.add_argument(
        "--at",
        type=positive_int_list,
        default=None,
        help="comma-separated step counts for the table (default: quarters of --timesteps)",
    )
    p.add_argument("--out", type=figure_path, default="rl.png", help="figure file (default: rl.png)")
    p.add_argument(
        "--history",
        type=output_path,
        default=None,
        help="JSON file for every run's episodes and update records (default: none)",
    )
    p.add_argument(
        "--from-history",
        type=_history_file,
        default=None,
        metavar="FILE",
        help="train nothing: print the table and draw the figure of a study saved by --history "
        "(--env, --methods, --timesteps, --seeds and the training settings are then ignored)",
    )
    p.add_argument(
        "--resume",
        type=_history_file,
        default=None,
        metavar="FILE",
        help="go on with a study saved by --history (stopped by Ctrl-C, say): its finished runs are kept and only "
        "the others are trained, with the same settings; the history is written back to FILE unless --history "
        "names another file",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run, check=check)


def _kl(text):
    if text.lower() == "none":
        return None
    return positive_float(text)


def _history_file(text):
    from pathlib import Path

    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no such file {text!r}")
    return text


def check(args):
    """Every environment exists, runs here and has spaces the policies support; every step
    count of ``--at`` is within the run; ``--timesteps`` holds at least one batch; a
    ``--from-history`` file is a saved study (``--out`` and ``--history`` are checked by their
    argument types, :func:`~riemannopt.cli._args.output_path`)."""
    from riemannopt.errors import BackendUnavailableError, MethodError
    from riemannopt.rl.envs import env_info

    args.resume_study = None
    if args.resume:
        args.resume_study = _load(args.resume, "--resume")
        if not args.history:
            try:
                args.history = output_path(args.resume)
            except argparse.ArgumentTypeError as exc:
                raise UsageError(f"--resume: {exc}") from None
    if args.from_history:
        args.study = _load(args.from_history, "--from-history")
        args.timesteps = args.study.timesteps
        if args.at is not None and max(args.at) > args.timesteps:
            raise UsageError(f"--at: {max(args.at)} is beyond the study's {args.timesteps} steps")
        return
    if args.at is not None and max(args.at) > args.timesteps:
        raise UsageError(f"--at: {max(args.at)} is beyond --timesteps {args.timesteps}")
    batch = args.envs * args.steps_per_env
    if args.timesteps < batch:
        raise UsageError(
            f"--timesteps {args.timesteps} is less than one batch of {batch} steps (--envs {args.envs} × "
            f"--steps-per-env {args.steps_per_env}): raise --timesteps or lower --envs or --steps-per-env"
        )
    args.infos = {}
    for env_id in args.env:
        try:
            args.infos[env_id] = env_info(env_id)
        except (BackendUnavailableError, MethodError) as exc:
            raise UsageError(f"--env: {exc}") from None


def _load(path, option):
    from riemannopt.errors import InputError
    from riemannopt.rl.study import Study

    try:
        return Study.load(path)
    except InputError as exc:  # says what the file is instead
        raise UsageError(f"{option}: {exc}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{option}: {path!r} is not a saved study ({exc!r})") from None


def run(args):
    """Train the study (or load it with ``--from-history``), then report it.  Ctrl-C ends the
    training and keeps what finished; the exit status is 130 if Ctrl-C stopped the study, else 1
    if a run failed, else 0."""
    from riemannopt.errors import InputError
    from riemannopt.plot import RL_CURVATURE_LABELS  # imported now: in the report, Ctrl-C would lose the study
    from riemannopt.progress import progress
    from riemannopt.rl.study import Study, run_study
    from riemannopt.rl.training import RLConfig

    if args.from_history:
        return _report(args, args.study)
    config = RLConfig(
        lr=args.lr,
        max_kl=args.max_kl,
        damping=args.damping,
        curvature=args.curvature,
        cg_iters=args.cg_iters,
        n_envs=args.envs,
        n_steps=args.steps_per_env,
    )
    seeds = list(range(args.seeds))
    per_run = -(-args.timesteps // config.batch) * config.batch
    kept = args.resume_study.finished() if args.resume_study is not None else {}
    total = per_run * sum((e, m, s) not in kept for e in args.env for m in args.methods for s in seeds)
    # What is reported if Ctrl-C comes before run_study returns: nothing new, and a resumed
    # study's runs as they were (its file is written back).
    study = Study(list(args.env), list(args.methods), seeds, args.timesteps, config, interrupted=True)
    if args.resume_study is not None:
        study = dataclasses.replace(args.resume_study, interrupted=True)
    print(
        f"natural policy gradient ({RL_CURVATURE_LABELS[args.curvature]}) on {', '.join(args.env)}: methods "
        f"{', '.join(args.methods)}, {len(seeds)} seed(s), {args.timesteps} steps each, batch {config.batch}",
        flush=True,
    )
    try:
        with progress(range(total), desc="rl", enable=False if args.no_progress else None, total=total) as bar:
            study = run_study(
                args.env,
                args.methods,
                args.timesteps,
                seeds,
                config=config,
                progress=bar.update,
                resume=args.resume_study,
            )
    except InputError as exc:  # a saved study that is not this one: found before any training
        print(f"riemannopt rl: error: --resume {args.resume}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside the runs (the progress bar): the study keeps what it had
        study.interrupted = True
    return _report(args, study)


def _report(args, study):
    """Write the history and the figure (whole, Ctrl-C held back until both are written), print
    the table; the exit status."""
    late = False
    try:
        with deferred_interrupt():
            from riemannopt._io import save_figure
            from riemannopt.plot import rl_figure

            if args.history:
                study.save(args.history)
            save_figure(rl_figure(study), args.out, dpi=110)
    except KeyboardInterrupt:  # arrived while writing; both files are complete
        late = True
    print(study.table(args.at))
    if args.history:
        print(f"history written to {args.history}")
    print(f"figure written to {args.out}")
    if (study.interrupted and not args.from_history) or late:  # a redrawn study ran before
        done = len(study.finished())
        total = len(study.env_ids) * len(study.methods) * len(study.seeds)
        print(
            f"riemannopt rl: interrupted (Ctrl-C or SIGTERM); {done} of {total} runs finished and are kept"
            + (f" in {args.history} (go on with --resume {args.history})" if args.history else ""),
            file=sys.stderr,
        )
        return 130
    return 1 if study.failures else 0
