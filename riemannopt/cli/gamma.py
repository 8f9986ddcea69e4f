"""``riemannopt gamma``: the paper's Gamma-distribution invariance experiment (Figure 2)."""

from riemannopt.cli._args import figure_path, non_negative_int, positive_float, positive_int

__all__ = ["HELP", "register"]


#: The subcommands this module adds, with their one-line help.
HELP = {
    "gamma": "the paper's Gamma-distribution invariance experiment (Figure 2)",
}


def register(sub):
    p = sub.add_parser(
        "gamma",
        help=HELP["gamma"],
        description="Fit Gamma(α, β) to the paper's synthetic data by ng, mid, geo, geof, the exact flow "
        "and Riemannian Euler in four parameterizations; write the four-panel figure and print the "
        "final NLL table. Exit status 1 if a run failed (its partial result is still drawn).",
    )
    p.add_argument("--lr", type=positive_float, default=0.5, help="learning rate (default: 0.5, as in the paper)")
    p.add_argument("--steps", type=positive_int, default=10, help="iterations (default: 10)")
    p.add_argument("--seed", type=non_negative_int, default=1234, help="seed of the synthetic data (default: 1234)")
    p.add_argument("--out", type=figure_path, default="gamma.png", help="figure file (default: gamma.png)")
    p.set_defaults(run=run)


def run(args):
    from riemannopt._io import save_figure
    from riemannopt.experiments import gamma_figure

    result = gamma_figure(lr=args.lr, steps=args.steps, seed=args.seed)
    print(result.table())
    save_figure(result.figure(), args.out, dpi=120)
    print(f"figure written to {args.out}")
    return 1 if result.failures else 0
