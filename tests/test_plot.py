"""Figures: layout and geometry, on hand-made studies (nothing is computed).

Checks that could fail: each slope marker has exactly its expected log-log slope and lies
below its curve (never crossing it), each reference gets its own panel, legends sit outside the
data, a method has the same colour in every figure, and the Gamma figure is a 2×2 grid.
"""

import numpy as np

from riemannopt.analysis import ConvergenceStudy, InvarianceStudy
from riemannopt.experiments import GammaResult
from riemannopt.plot import convergence_figure, gamma_panels, invariance_figure, method_color

H = 2.0 / np.array([16, 32, 64, 128])


def conv(method, reference, order, c=1.0):
    err = c * H**order * (1 + 0.05 * np.sin(np.arange(4)))
    return ConvergenceStudy(method, reference, 2.0, 2.0 / H, H, err, float(order), np.zeros((4, 2)), np.zeros((4, 2)))


def markers(ax):
    return [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]


def test_convergence_figure_panels_markers_and_legends():
    studies = [conv("ng", "exact", 1), conv("mid", "exact", 2), conv("geo", "re", 2, 0.1)]
    fig = convergence_figure(studies, expected=[1, 2, 2])
    left, right = fig.get_axes()
    assert left.get_title() == "against exact" and right.get_title() == "against re"
    data = {ln.get_label().split()[0]: ln for ln in left.get_lines() + right.get_lines() if ln.get_linestyle() == "-"}
    for ax, expected in ((left, [1, 2]), (right, [2])):
        ms = markers(ax)
        assert len(ms) == len(expected)
        for ln, order in zip(ms, expected):
            x, y = ln.get_xdata(), ln.get_ydata()
            slope = np.polyfit(np.log(x), np.log(y), 1)[0]
            assert abs(slope - order) < 1e-12
    for ln in markers(left) + markers(right):  # beside its curve, never across it
        curve = next(d for d in data.values() if d.get_color() == ln.get_color())
        assert np.all(ln.get_ydata() < curve.get_ydata())
    fig.canvas.draw()
    for ax in (left, right):  # legend below the axes, not over the data
        assert ax.get_legend().get_window_extent().y1 <= ax.get_window_extent().y0


def test_invariance_figure_slopes_and_roundoff():
    gap = lambda order: 0.3 * H**order  # noqa: E731
    studies = [
        InvarianceStudy("ng", 2.0, 2.0 / H, H, gap(1), 1.0, None, None),
        InvarianceStudy("geo", 2.0, 2.0 / H, H, gap(2), 2.0, None, None),
        InvarianceStudy("re", 2.0, 2.0 / H, H, np.full(4, 3e-13), float("nan"), None, None),
    ]
    ax = invariance_figure(studies).get_axes()[0]
    slopes = sorted(round(np.polyfit(np.log(m.get_xdata()), np.log(m.get_ydata()), 1)[0], 12) for m in markers(ax))
    assert slopes == [1, 2]
    dotted = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert [ln.get_label() for ln in dotted] == ["re (gap at round-off)"]


def test_method_colours_agree_across_figures():
    studies = [conv("geo", "re", 2)]
    inv = [InvarianceStudy("geo", 2.0, 2.0 / H, H, H**2, 2.0, None, None)]
    c1 = convergence_figure(studies, expected=[2]).get_axes()[0].get_lines()[0].get_color()
    c2 = invariance_figure(inv).get_axes()[0].get_lines()[0].get_color()
    result = GammaResult(
        nll={("identity", "geo"): np.linspace(1, 0, 5), ("squares", "geo"): np.linspace(1, 0.1, 5)},
        x={},
        reparams=("identity", "squares"),
        methods=("geo",),
        lr=0.5,
        steps=4,
    )
    c3 = gamma_panels(result).get_axes()[0].get_lines()[0].get_color()
    assert c1 == c2 == c3 == method_color("geo")


def test_gamma_figure_is_a_grid():
    reparams = ("identity", "inv_beta", "cube_beta", "squares")
    nll = {(r, m): np.linspace(1, 0.1 * i, 11) for i, r in enumerate(reparams) for m in ("ng", "geo")}
    result = GammaResult(nll=nll, x={}, reparams=reparams, methods=("ng", "geo"), lr=0.5, steps=10)
    fig = gamma_panels(result)
    axes = fig.get_axes()
    assert len(axes) == 4
    pos = sorted((round(ax.get_position().x0, 2), round(ax.get_position().y0, 2)) for ax in axes)
    assert len({x for x, _ in pos}) == 2 and len({y for _, y in pos}) == 2  # two columns, two rows
    assert len(fig.legends) == 1  # one legend for all panels


def test_gamma_figure_shows_every_iteration_of_every_curve():
    """The shared y-axis spans every finite value, iteration 0 included (it used to stop at the
    largest iteration-1 value, 0.9 in the paper's run, hiding the start); a failed run's NaN is
    left out.  Checked against the data's own extremes."""
    nll = {
        ("identity", "ng"): np.array([1.0056, 0.81, 0.63, -0.096]),
        ("squares", "ng"): np.array([1.0056, 0.79, -0.10, np.nan]),
    }
    result = GammaResult(nll=nll, x={}, reparams=("identity", "squares"), methods=("ng",), lr=0.5, steps=3)
    for ax in gamma_panels(result).get_axes():
        lo, hi = ax.get_ylim()
        assert lo < -0.10 and hi > 1.0056
        assert hi - lo < 2 * (1.0056 + 0.10)  # scaled to the data, not to a default range


def test_plot_draws_what_it_is_given():
    """Data flows one way: riemannopt.plot imports nothing from the experiments or rl packages
    (they compute values and labels and call it), checked on its source's import statements."""
    import ast
    import inspect

    import riemannopt.plot

    tree = ast.parse(inspect.getsource(riemannopt.plot))
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.startswith(("riemannopt.experiments", "riemannopt.rl"))], imported


def test_gamma_legend_uses_the_experiments_labels():
    """The exact flow and Riemannian Euler with an exact exponential map are labelled as in the
    paper's Figure 2 (the labels GammaResult gives), in the legend and in the table."""
    reparams = ("identity", "squares")
    nll = {(r, m): np.linspace(1, 0.5, 3) for r in reparams for m in ("ng", "exact", "re")}
    result = GammaResult(nll=nll, x={}, reparams=reparams, methods=("ng", "exact", "re"), lr=0.5, steps=2)
    fig = gamma_panels(result)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ng", "ng(exact)", "geo(exact)"]
    assert "geo(exact)" in result.table()


def test_benchmark_figure_log_axes():
    """Pascanu & Bengio's layout: two panels, logarithmic x axes, one line per method starting at
    iteration 1 (the mean over seeds), colours from the training-method registry."""
    from riemannopt.plot import benchmark_figure

    errs = np.array([[4.0, 2.0, 1.0, 0.5], [4.0, 3.0, 1.5, 0.7]])
    curves = {"ncg-l": (errs, np.array([0.0, 1.0, 2.0]), np.array([4.0, 1.5, 0.6])), "sgd": None}
    fig = benchmark_figure(curves, title="t")
    left, right = fig.axes
    assert left.get_xscale() == right.get_xscale() == "log" and left.get_yscale() == "log"
    (line,) = left.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(line.get_ydata(), errs.mean(axis=0)[1:])
    assert line.get_color() == method_color("ncg-l")
    np.testing.assert_array_equal(right.get_lines()[0].get_xdata(), [1.0, 2.0])
