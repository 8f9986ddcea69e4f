"""``riemannopt orders`` (Theorem 1) and ``riemannopt invariance`` (order of invariance)."""

from riemannopt.cli._args import UsageError, figure_path, name_list, positive_float, step_counts

__all__ = ["HELP", "register"]


#: The subcommands this module adds, with their one-line help.
HELP = {
    "orders": "convergence orders of Theorem 1 (table and log-log figure)",
    "invariance": "order of invariance of every method under a reparameterization",
}


def register(sub):
    from riemannopt.experiments import STUDY_PROBLEMS
    from riemannopt.integrators import METHODS
    from riemannopt.integrators.methods import invariance_methods

    defaults = ",".join(invariance_methods())

    o = sub.add_parser(
        "orders",
        help=HELP["orders"],
        description="Fit the convergence order of every registered method to the flow it follows (Theorem 1: "
        "ng, mid, re to the exact flow, ng, geo, geof to Riemannian Euler; and geo3, rk4, rmid, rtaylor); "
        "print fitted vs expected orders with a pass mark. "
        "Exit status 1 if any order misses its expectation.",
    )
    _study_options(o, STUDY_PROBLEMS, "orders_steps", "orders.png")
    o.set_defaults(run=run_orders, check=check)
    v = sub.add_parser(
        "invariance",
        help=HELP["invariance"],
        description="Run each method in the base coordinates and in a reparameterization, map back, and "
        "fit the slope of the gap against the step size. Exit status 1 if any method misses its "
        "expected order.",
    )
    _study_options(v, STUDY_PROBLEMS, "invariance_steps", "invariance.png")
    v.add_argument(
        "--methods",
        type=name_list(METHODS, "method"),
        default=defaults.split(","),
        help=f"comma-separated methods among {', '.join(METHODS)} (default: {defaults})",
    )
    v.set_defaults(run=run_invariance, check=check)


def _study_options(p, problems, steps, out):
    reparams = "; ".join(
        f"{name}: {', '.join(entry.reparams)} (default {entry.default_reparam})" for name, entry in problems.items()
    )
    defaults = "; ".join(f"{name}: {','.join(map(str, getattr(entry, steps)))}" for name, entry in problems.items())
    p.add_argument("--problem", default="gamma", choices=list(problems), help="catalogue problem (default: gamma)")
    p.add_argument("--reparam", default=None, help=f"parameterization of the problem; {reparams}")
    p.add_argument("--T", type=positive_float, default=2.0, help="time at which the error is taken (default: 2)")
    p.add_argument(
        "--steps",
        type=step_counts,
        default=None,
        help=f"comma-separated step counts (default, by problem: {defaults})",
    )
    p.add_argument("--out", type=figure_path, default=out, help=f"figure file (default: {out})")


def check(args):
    from riemannopt.errors import MethodError
    from riemannopt.experiments import STUDY_PROBLEMS, check_study_problem

    try:
        _, args.reparam = check_study_problem(args.problem, args.reparam)
    except MethodError as exc:
        raise UsageError(str(exc)) from None
    if args.steps is None:
        args.steps = list(getattr(STUDY_PROBLEMS[args.problem], f"{args.command}_steps"))
    if args.command == "invariance" and args.reparam == "identity":
        raise UsageError("--reparam identity compares a method with itself; name a reparameterization")


def run_orders(args):
    from riemannopt._io import save_figure
    from riemannopt.experiments import study_problem, theorem1_table
    from riemannopt.plot import convergence_figure

    problem, x0 = study_problem(args.problem, args.reparam)
    print(f"Theorem 1 on {args.problem} ({args.reparam} parameterization), x0 = {tuple(map(float, x0))}, T = {args.T}")
    table = theorem1_table(problem, x0, T=args.T, steps_list=args.steps)
    print(table.text)
    fig = convergence_figure(
        table.studies, expected=table.expected, title=f"Theorem 1: {args.problem} / {args.reparam}"
    )
    save_figure(fig, args.out, dpi=120)
    print(f"figure written to {args.out}")
    return 0 if table.passed else 1


def run_invariance(args):
    from riemannopt._io import save_figure
    from riemannopt.experiments import STUDY_PROBLEMS, invariance_table, study_problem
    from riemannopt.plot import invariance_figure

    problem, x0 = study_problem(args.problem)
    reparam = STUDY_PROBLEMS[args.problem].reparams[args.reparam]
    print(
        f"Order of invariance on {args.problem}: base coordinates vs {args.reparam}, "
        f"x0 = {tuple(map(float, x0))}, T = {args.T}"
    )
    table = invariance_table(problem, reparam, x0, T=args.T, steps_list=args.steps, methods=args.methods)
    print(table.text)
    title = f"Order of invariance: {args.problem}, identity vs {args.reparam}"
    save_figure(invariance_figure(table.studies, title=title), args.out, dpi=120)
    print(f"figure written to {args.out}")
    return 0 if table.passed else 1
