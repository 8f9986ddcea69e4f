"""Study bookkeeping and the Figure-4 plot on hand-made runs (no environment needed): curves are
averages of the last episodes, summaries are over seeds, a saved study loads back equal."""

import numpy as np
import pytest

from riemannopt.plot import method_color, rl_figure
from riemannopt.rl import RLConfig, RLResult, Study


def run(method, seed, returns, steps):
    updates = {"update_time": np.array([0.01, 0.03]) * (2 if method != "ng" else 1), "kl": np.array([1e-3, 2e-3])}
    return RLResult(
        "Toy-v0",
        method,
        seed,
        RLConfig(lr=0.3, n_envs=1, n_steps=10),
        np.asarray(steps),
        np.asarray(returns, dtype=float),
        updates,
    )


@pytest.fixture
def study():
    s = Study(["Toy-v0"], ["ng", "geo"], [0, 1], 100, RLConfig(n_envs=1, n_steps=10), window=2)
    steps = [10, 20, 40, 60, 100]
    s.results["Toy-v0", "ng"] = [run("ng", 0, [1, 2, 3, 4, 5], steps), run("ng", 1, [1, 1, 1, 1, 1], steps)]
    s.results["Toy-v0", "geo"] = [run("geo", 0, [2, 2, 4, 4, 6], steps), run("geo", 1, [0, 2, 2, 2, 2], steps)]
    return s


def test_returns_at_averages_the_last_episodes(study):
    r = study.results["Toy-v0", "ng"][0]
    # by step 5 nothing has ended; by 20 episodes 1, 2 (window 2: mean 1.5); by 59 episodes 2, 3.
    np.testing.assert_array_equal(r.returns_at([5, 10, 20, 59, 100], window=2), [np.nan, 1.0, 1.5, 2.5, 4.5])


def test_summary_table_and_time_ratio(study):
    mean, sd = study.summary("Toy-v0", "geo", [20, 100])
    np.testing.assert_allclose(mean, [(2 + 1) / 2, (5 + 2) / 2])
    np.testing.assert_allclose(sd, [0.5, 1.5])
    assert study.time_ratio("Toy-v0", "geo") == pytest.approx(2.0)
    text = study.table([20, 100])
    assert "return @ 0.02k" in text and "1.5 ± 0.5" in text and "2.00×" in text


def test_save_and_load_round_trip(study, tmp_path):
    path = tmp_path / "study.json"
    study.save(path)
    again = Study.load(path)
    assert again.methods == study.methods and again.window == 2 and again.config == study.config
    for key, runs in study.results.items():
        for a, b in zip(runs, again.results[key]):
            np.testing.assert_array_equal(a.episode_returns, b.episode_returns)
            np.testing.assert_array_equal(a.updates["kl"], b.updates["kl"])


def test_figure_has_a_panel_per_environment_and_the_method_colours(study):
    fig = rl_figure(study, n_points=5)
    (ax,) = fig.get_axes()
    assert ax.get_title() == "Toy-v0"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert lines["ng"].get_color() == method_color("ng")
    assert lines["geo (geodesic correction)"].get_color() == method_color("geo")
    np.testing.assert_allclose(lines["ng"].get_ydata(), study.summary("Toy-v0", "ng", study.grid(5))[0])
