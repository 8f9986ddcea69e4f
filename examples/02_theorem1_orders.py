"""
Theorem 1 by convergence-order plots
====================================

Theorem 1 of the paper: at a fixed time ``T`` of the natural-gradient flow, the global error of
``ng`` and of Riemannian Euler (``re``) against the exact flow shrinks like the step size ``h``
(order 1), and ``geo`` and ``geof`` approach ``re`` like ``h²`` (order 2). The midpoint method
``mid`` is second order against the exact flow.

An order is a slope on a log-log plot: run each method with 16, 32, 64 and 128 steps to the same
time ``T = 2``, measure how far it ends from its reference, and fit the slope of log error
against log ``h``. riemannopt does exactly this in :func:`riemannopt.convergence_order`;
:func:`riemannopt.experiments.theorem1_table` runs every pair of the theorem.

The problem is the Gamma fit of the paper in the parameterization ``(α, β) = (α'², β'²)``, so
that nothing is special about the coordinates.
"""

import os

import riemannopt as ro
from riemannopt.experiments import study_problem, theorem1_table
from riemannopt.plot import convergence_figure

QUICK = os.environ.get("RIEMANNOPT_EXAMPLE_QUICK") == "1"

# %%
# The catalogue problem and its default start point, in the squared parameterization.
problem, x0 = study_problem("gamma", "squares")
steps = (16, 32, 64) if QUICK else (16, 32, 64, 128)
table = theorem1_table(problem, x0, T=2.0, steps_list=steps)
print(table.text)
print("every order within 0.15 of Theorem 1:", table.passed)

# %%
# One study by hand: the error of ``geo`` against ``re`` halves twice when the step halves.
study = ro.convergence_order(problem, "geo", "re", x0, T=2.0, steps_list=steps)
for h, e in zip(study.h, study.error):
    print(f"h = {h:.4f}   |x_geo(T) − x_re(T)| = {e:.3e}")
print(f"fitted order {study.order:.2f}")

# %%
# The figure: every pair, with dashed reference slopes.
fig = convergence_figure(table.studies, expected=table.expected, title="Theorem 1 on the Gamma fit (α'², β'²)")
fig.savefig("orders.png", dpi=120)
