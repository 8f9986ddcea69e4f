"""Study bookkeeping and the Figure-4 plot on hand-made runs (no environment needed): curves are
averages of the last episodes, summaries are over seeds, a saved study loads back equal."""

import json

import numpy as np
import pytest

from riemannopt.errors import InputError
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


def test_one_environment_figure_shows_its_whole_title(study):
    """The README's one-environment figure cut its title off on both sides: every text of the
    drawn figure (title lines, panel title, legend) lies inside the canvas, measured by the
    renderer at the command's 110 dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = rl_figure(study)
    fig.set_dpi(110)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    width, height = canvas.get_width_height()
    texts = [fig._suptitle, fig.axes[0].title, *fig.axes[0].get_legend().get_texts()]
    for text in texts:
        box = text.get_window_extent(renderer)
        assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height, (text.get_text(), box)
    assert "\n" in fig._suptitle.get_text()


def test_partial_runs_are_marked_in_table_figure_and_history(study, tmp_path):
    """A run stopped by Ctrl-C after 40 steps and a failed run: the runs column and the notes name
    them, a partial run's curve is NaN beyond the steps it reached (its own episodes before),
    "—" replaces "nan ± nan" where no run has finished an episode, the legend marks the method,
    and a save and load keeps every mark."""
    ng1 = study.results["Toy-v0", "ng"][1]
    ng1.interrupted, ng1.steps = True, 40
    geo1 = study.results["Toy-v0", "geo"][1]
    geo1.failure, geo1.steps = "geo on Toy-v0 (seed 1) diverged at update 3: boom", 60
    study.interrupted = True
    assert study.status("Toy-v0", "ng") == "1/2, 1 interrupted" and study.status("Toy-v0", "geo") == "1/2, 1 failed"
    c = study.curves("Toy-v0", "ng", [5, 40, 60])
    np.testing.assert_array_equal(c[1], [np.nan, 1.0, np.nan])  # seed 1's episodes all return 1
    text = study.table([5, 100])
    head, ng_row, geo_row, *notes = text.split("\n")
    assert "1/2, 1 interrupted" in ng_row and "—" in ng_row and "nan" not in text
    assert ng_row.split()[ng_row.split().index("interrupted") + 1] == "—"  # @5: no episode has ended
    assert "4.5 ± 0.0" in ng_row  # @100: only seed 0 reached it, (4 + 5) / 2
    assert notes == [
        "! ng on Toy-v0 (seed 1) interrupted after 40 environment steps",
        "! geo on Toy-v0 (seed 1) failed: geo on Toy-v0 (seed 1) diverged at update 3: boom",
        "! interrupted: the table holds the runs finished before Ctrl-C",
    ]
    labels = [t.get_text() for t in rl_figure(study, n_points=5).axes[0].get_legend().get_texts()]
    assert labels == ["ng — 1/2 complete, 1 interrupted", "geo (geodesic correction) — 1/2 complete, 1 failed"]
    study.save(tmp_path / "s.json")
    again = Study.load(tmp_path / "s.json")
    assert again.interrupted and again.table([5, 100]) == text
    assert [(r.interrupted, r.failure, r.steps) for r in again.runs("Toy-v0", "geo")] == [
        (False, None, None),
        (False, geo1.failure, 60),
    ]


def test_a_study_saved_with_the_old_curvature_name_loads_as_fisher(study, tmp_path):
    """The exact Fisher's curvature was called "exact" before it took riemannopt.nn's name
    "fisher": a study saved then (its config and each run's config say "exact") loads with
    "fisher", equal to the same study saved today, and is drawn with the same title; "exact"
    given directly is refused with a message naming the new name."""
    path = tmp_path / "old.json"
    study.save(path)
    data = json.loads(path.read_text())
    assert data["config"]["curvature"] == "fisher"
    data["config"]["curvature"] = "exact"
    for r in data["runs"]:
        r["config"]["curvature"] = "exact"
    path.write_text(json.dumps(data))
    old = Study.load(path)
    assert old.config == study.config and old.config.curvature == "fisher"
    assert all(r.config.curvature == "fisher" for runs in old.results.values() for r in runs)
    assert old.table() == study.table()
    assert rl_figure(old)._suptitle.get_text() == rl_figure(study)._suptitle.get_text()
    assert "(exact Fisher)" in rl_figure(old)._suptitle.get_text()
    with pytest.raises(InputError, match="'exact' is now called 'fisher'"):
        RLConfig(curvature="exact")


# -- resuming a stopped study ---------------------------------------------------------------------
TINY = RLConfig(n_envs=2, n_steps=64, hidden=(16,), vf_epochs=2)


def test_resume_trains_only_what_is_missing_and_equals_one_study(tmp_path):
    """A study saved after Ctrl-C (emulated from a finished one: one run dropped, one marked
    interrupted) and resumed through its JSON equals the uninterrupted study: kept runs are the
    saved ones and the retrained ones equal the reference bit for bit except for wall times (the
    reference is the uninterrupted study, run independently)."""
    pytest.importorskip("gymnasium")
    from riemannopt.rl import run_study

    full = run_study(["Pendulum-v1"], ["ng", "geo"], 128, [0, 1], config=TINY)
    runs = full.results
    saved = Study(["Pendulum-v1"], ["ng", "geo"], [0, 1], 128, TINY, window=full.window, interrupted=True)
    saved.results["Pendulum-v1", "ng"] = list(runs["Pendulum-v1", "ng"])
    geo0 = runs["Pendulum-v1", "geo"][0]
    saved.results["Pendulum-v1", "geo"] = [
        RLResult(geo0.env_id, "geo", 0, TINY, geo0.episode_steps[:1], geo0.episode_returns[:1], {}, interrupted=True)
    ]
    saved.save(tmp_path / "h.json")
    loaded = Study.load(tmp_path / "h.json")
    calls = []
    resumed = run_study(["Pendulum-v1"], ["ng", "geo"], 128, [0, 1], config=TINY, resume=loaded, progress=calls.append)
    assert not resumed.interrupted and resumed.complete
    assert sum(calls) == 2 * 128  # geo's two seeds, nothing else
    for method in ("ng", "geo"):
        for fresh, got in zip(runs["Pendulum-v1", method], resumed.runs("Pendulum-v1", method), strict=True):
            assert got.seed == fresh.seed
            np.testing.assert_array_equal(got.episode_returns, fresh.episode_returns)
            if method == "geo":  # retrained (a saved run keeps no parameters)
                np.testing.assert_array_equal(got.params, fresh.params)


@pytest.mark.parametrize(
    "timesteps, config, match",
    [
        (256, TINY, "the saved study has timesteps 128, this one 256"),
        (
            128,
            RLConfig(n_envs=2, n_steps=64, hidden=(16,), vf_epochs=3),
            r"settings differ in vf_epochs \(saved 2, now 3\)",
        ),
    ],
)
def test_resume_refuses_another_study(timesteps, config, match):
    """Other timesteps or settings would mix incomparable runs: refused before any training."""
    from riemannopt.errors import InputError
    from riemannopt.rl import run_study

    saved = Study(["Pendulum-v1"], ["ng"], [0], 128, TINY)
    with pytest.raises(InputError, match=match):
        run_study(["Pendulum-v1"], ["ng"], timesteps, [0], config=config, resume=saved)
