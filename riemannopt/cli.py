"""The ``riemannopt`` command."""

import argparse
import sys

__all__ = ["main"]


def _gamma(args):
    from .experiments import gamma_figure

    result = gamma_figure(lr=args.lr, steps=args.steps, seed=args.seed)
    print(result.table())
    result.figure().savefig(args.out, dpi=120)
    print(f"figure written to {args.out}")
    return 1 if result.failures else 0


def _steps(text):
    try:
        steps = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--steps must be comma-separated integers, got {text!r}") from None
    if len(steps) < 2 or min(steps) < 1:
        raise argparse.ArgumentTypeError("--steps needs at least two positive step counts")
    return steps


def _orders(args):
    from .experiments import THEOREM1_PAIRS, study_problem, theorem1_table
    from .plot import convergence_figure

    problem, x0 = study_problem(args.problem, args.reparam)
    print(f"Theorem 1 on {args.problem} ({args.reparam} parameterization), x0 = {tuple(map(float, x0))}, T = {args.T}")
    studies, text = theorem1_table(problem, x0, T=args.T, steps_list=args.steps)
    print(text)
    fig = convergence_figure(studies, expected=[e for _, _, e in THEOREM1_PAIRS], title=f"Theorem 1: {args.problem} / {args.reparam}")
    fig.savefig(args.out, dpi=120)
    print(f"figure written to {args.out}")
    return 0 if "FAIL" not in text else 1


def _invariance(args):
    from .experiments import STUDY_PROBLEMS, invariance_table, study_problem
    from .plot import invariance_figure

    problem, x0 = study_problem(args.problem)
    reparam = STUDY_PROBLEMS[args.problem].reparams[args.reparam]
    print(f"Order of invariance on {args.problem}: base coordinates vs {args.reparam}, x0 = {tuple(map(float, x0))}, T = {args.T}")
    studies, text = invariance_table(problem, reparam, x0, T=args.T, steps_list=args.steps, methods=args.methods.split(","))
    print(text)
    invariance_figure(studies, title=f"Order of invariance: {args.problem}, identity vs {args.reparam}").savefig(args.out, dpi=120)
    print(f"figure written to {args.out}")
    return 0 if "FAIL" not in text else 1


def _study_options(p, steps, out):
    from .experiments import STUDY_PROBLEMS

    p.add_argument("--problem", default="gamma", choices=sorted(STUDY_PROBLEMS), help="catalogue problem (default: gamma)")
    p.add_argument("--reparam", default="squares", help="parameterization, e.g. identity, inv_beta, cube_beta, squares (default: squares)")
    p.add_argument("--T", type=float, default=2.0, help="time at which the error is taken (default: 2)")
    p.add_argument("--steps", type=_steps, default=steps, help=f"comma-separated step counts (default: {','.join(map(str, steps))})")
    p.add_argument("--out", default=out, help=f"figure file (default: {out})")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="riemannopt",
        description="Natural-gradient optimizers, their invariance and their convergence order "
        "(Song, Song & Ermon, ICML 2018).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser(
        "gamma",
        help="the paper's Gamma-distribution invariance experiment (Figure 2)",
        description="Fit Gamma(α, β) to the paper's synthetic data by ng, mid, geo, geof, the exact flow "
        "and Riemannian Euler in four parameterizations; write the four-panel figure and print the "
        "final NLL table.",
    )
    g.add_argument("--lr", type=float, default=0.5, help="learning rate (default: 0.5, as in the paper)")
    g.add_argument("--steps", type=int, default=10, help="iterations (default: 10)")
    g.add_argument("--seed", type=int, default=1234, help="seed of the synthetic data (default: 1234)")
    g.add_argument("--out", default="gamma.png", help="figure file (default: gamma.png)")
    g.set_defaults(func=_gamma)
    o = sub.add_parser(
        "orders",
        help="convergence orders of Theorem 1 (table and log-log figure)",
        description="Fit the convergence order of ng, mid and re to the exact flow and of ng, geo, geof "
        "(and geo3, rk4) to Riemannian Euler; print fitted vs expected orders with a pass mark.",
    )
    _study_options(o, [16, 32, 64, 128], "orders.png")
    o.set_defaults(func=_orders)
    v = sub.add_parser(
        "invariance",
        help="order of invariance of every method under a reparameterization",
        description="Run each method in the base coordinates and in a reparameterization, map back, and "
        "fit the slope of the gap against the step size.",
    )
    _study_options(v, [32, 64, 128, 256], "invariance.png")
    v.add_argument("--methods", default="ng,mid,geo,geof,geo3,rk4,re,exact", help="comma-separated methods")
    v.set_defaults(func=_invariance)
    return parser


def main(argv=None):
    """Entry point of the ``riemannopt`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:  # a clear message instead of a traceback for expected failures
        from .errors import RiemannOptError

        if isinstance(exc, RiemannOptError):
            print(f"riemannopt: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
