"""The training study (riemannopt.experiments.nn): measurements at fixed iterations and times on
hand-made histories, the JSON round trip, the figure, and one tiny real study."""

import json

import numpy as np
import pytest

from riemannopt.errors import InputError, MethodError
from riemannopt.experiments import NNStudy, nn_study
from riemannopt.nn.datasets import curves
from riemannopt.nn.presets import Preset


def history(errors, times):
    n = len(errors)
    nan = np.full(n, np.nan)
    errors, times = np.array(errors, float), np.array(times, float)
    return dict(
        iteration=np.arange(n),
        train_loss=errors,
        train_error=errors,
        seconds=times,
        cpu_seconds=times,
        damping=nan,
        cg_iterations=np.zeros(n, int),
        evaluations=np.zeros(n, int),
        rho=nan,
        rate=nan,
        corrected=np.zeros(n, bool),
    )


@pytest.fixture
def study():
    runs = {
        ("ng", 0): history([10, 5, 3, 2], [0, 1, 2, 3]),
        ("ng", 1): history([10, 6, 4, 3], [0, 1.5, 3, 4.5]),
        ("geof", 0): history([10, 4, 2, 1], [0, 2, 4, 6]),
        ("geof", 1): history([10, 4, 3, 2], [0, 2, 4, 6]),
        ("adam", 0): history([10, 9, 8, 7], [0, 0.1, 0.2, 0.3]),
        ("adam", 1): history([10, 9, 8, 8], [0, 0.1, 0.2, 0.3]),
    }
    return NNStudy("toy", ("ng", "geof", "adam"), (0, 1), 3, runs)


def test_measurements_at_fixed_iterations_and_times(study):
    np.testing.assert_array_equal(study.at_iteration("ng", "train_error", 2), [3, 4])
    # At t = 2.5 s: ng seed 0 has finished iteration 2 (t = 2), seed 1 iteration 1 (t = 1.5).
    np.testing.assert_array_equal(study.at_time("ng", "train_error", 2.5), [3, 6])
    np.testing.assert_array_equal(study.at_time("geof", "train_error", 1.9), [10, 10])
    # The common time ignores Adam (0.3 s) and is the earliest end of the others (ng seed 0: 3 s).
    assert study.common_time() == 3.0
    np.testing.assert_allclose(study.seconds_per_iteration("geof"), [2.0, 2.0])
    text = study.table()
    # Iterations 1 and 3 (half and all), times 1.5 s and 3 s (half and all of the common time).
    assert "| method | train @1 | train @3 | train @1.5s | train @3s | cpu s / iteration |" in text
    assert "| ng | 5.5 [5, 6] | 2.5 [2, 3] | 5.5 [5, 6] | 3 [2, 4] | 1.25 |" in text
    # Adam ended at 0.3 s: its entries at later times are its last values, marked.
    assert "| adam | 9 [9, 9] | 7.5 [7, 8] | 7.5 [7, 8]† | 7.5 [7, 8]† | 0.1 |" in text
    assert "† a run had finished" in text


def test_paired_table_counts_seeds_below_ng(study):
    """Seed by seed against ng, at the table's iterations (1, 3) and times (1.5 s, 3 s): geof is
    below ng at iteration 1 on both seeds (4 < 5, 4 < 6) and at iteration 3 (1 < 2, 2 < 3); at
    1.5 s geof has finished no iteration (10, 10) and ng one on each seed (5, 6); at 3 s geof has
    (4, 4) and ng (2, 4): below on no seed, equal on seed 1."""
    assert study.wins("geof", iteration=1) == (2, 0, 2)
    assert study.wins("geof", iteration=3) == (2, 0, 2)
    assert study.wins("geof", time=1.5) == (0, 0, 2)
    assert study.wins("geof", time=3.0) == (0, 1, 2)
    assert study.wins("adam", iteration=3) == (0, 0, 2)
    text = study.paired_table()
    assert "paired with ng" in text
    assert "| method | train @1 | train @3 | train @1.5s | train @3s |" in text
    assert "| geof | 2/2 | 2/2 | 0/2 | 0/2 (1 equal) |" in text
    assert "| adam | 0/2 | 0/2 | 0/2 | 0/2 |" in text
    assert "| ng |" not in text
    # The same iterations and times as the table when given.
    # The iterations and times given: at 1 s ng has (5, 10), geof (10, 10), Adam its last (7, 8).
    text = study.paired_table(iterations=[2], times=[1.0])
    assert "| geof | 2/2 | 0/2 (1 equal) |" in text and "| adam | 0/2 | 1/2 |" in text
    with pytest.raises(InputError, match="exactly one of iteration and time"):
        study.wins("geof")


def test_paired_table_pairs_by_seed_and_handles_missing_runs_and_nan(study):
    """Only the seeds both methods ran count; a NaN error (a diverged run) is the worst; with no
    ng run there is no paired table."""
    study.runs["geof", 2] = history([10, 1, 1, 1], [0, 1, 2, 3])  # no ng seed 2: not counted
    study.seeds = (0, 1, 2)
    study.runs["ng", 1]["train_error"] = np.array([10, np.nan, np.nan, np.nan])
    assert study.wins("geof", iteration=3) == (2, 0, 2)
    study.runs["geof", 0]["train_error"] = np.array([10, np.nan, np.nan, np.nan])
    assert study.wins("geof", iteration=3) == (1, 0, 2)  # seed 0: NaN against 2, lost
    study.runs["geof", 1]["train_error"] = np.array([10, np.nan, np.nan, np.nan])
    assert study.wins("geof", iteration=3) == (0, 1, 2)  # seed 1: both NaN, equal
    del study.runs["ng", 0], study.runs["ng", 1]
    assert study.paired_table() == ""


def test_figure_curves_are_the_studys_measurements(study):
    """What the figure draws: per method, each seed's errors up to the shortest run and, at each
    time of the grid up to the earliest end, the mean over seeds of :meth:`NNStudy.at_time` (the
    measurement the table uses); a method without a run is None."""
    study.methods = (*study.methods, "mid")
    curves = study.curves("wall", n_times=7)
    assert list(curves) == ["ng", "geof", "adam", "mid"] and curves["mid"] is None
    errors, times, mean = curves["ng"]
    np.testing.assert_array_equal(errors, [[10, 5, 3, 2], [10, 6, 4, 3]])
    np.testing.assert_allclose(times, np.linspace(0, 3, 7))  # ng seed 0 ends at 3 s
    np.testing.assert_allclose(mean, [study.at_time("ng", "train_error", t, "wall").mean() for t in times])


def test_json_round_trip_and_figure(study, tmp_path):
    study.failures["ng", 2] = "diverged"
    study.settings["threshold"] = float("inf")
    text = json.dumps(study.to_json(), allow_nan=False)  # strict JSON: NaN and inf are encoded
    back = NNStudy.from_json(json.loads(text))
    assert back.methods == study.methods and back.failures == {("ng", 2): "diverged"}
    for key, h in study.runs.items():
        for k, v in h.items():
            np.testing.assert_array_equal(back.runs[key][k], v)
    assert back.settings["threshold"] == "inf"
    fig = study.figure()
    ax, top = fig.axes
    assert len(ax.get_lines()) == 3 and len(top.get_lines()) == 3
    assert [line.get_linestyle() for line in top.get_lines()] == ["--"] * 3
    fig.savefig(tmp_path / "f.png")


def test_tiny_study_runs_every_method():
    st = nn_study(_tiny(), ("ng", "geof", "adam"), 3, seeds=(0, 1), chunks=2)
    assert set(st.runs) == {(m, s) for m in ("ng", "geof", "adam") for s in (0, 1)}
    assert all(len(h["iteration"]) == 4 for h in st.runs.values()) and not st.failures
    assert st.settings["threshold"] == 5.0 and st.error == "squared"
    assert "| geof |" in st.table()
    # the paired table of a real study: each count is over the two seeds
    assert all(st.wins(m, iteration=3)[2] == 2 for m in ("geof", "adam"))
    assert "| geof | " in st.paired_table() and "/2" in st.paired_table()


def test_study_takes_the_presets_settings_and_per_method_options():
    """threshold, chunks and weight_decay default to the preset's (the paper's per-data-set
    settings) and are overridden by the call's; method_options reach only their method."""
    p = _tiny(chunks=3, weight_decay=2e-5)
    st = nn_study(p, ("ng",), 1, seeds=(0,))
    assert (st.settings["chunks"], st.settings["weight_decay"], st.settings["threshold"]) == (3, 2e-5, 5.0)
    st = nn_study(p, ("ng",), 1, seeds=(0,), chunks=2, threshold=1.0)
    assert (st.settings["chunks"], st.settings["threshold"]) == (2, 1.0)
    full = nn_study(p, ("ng", "adam"), 2, seeds=(0,))
    mini = nn_study(p, ("ng", "adam"), 2, seeds=(0,), method_options={"adam": {"batch_size": 10}})
    assert mini.settings["method_options"] == {"adam": {"batch_size": 10}} and "method_options" not in full.settings
    np.testing.assert_array_equal(mini.runs["ng", 0]["train_error"], full.runs["ng", 0]["train_error"])
    # minibatches of 10 over 30 examples: three Adam steps per iteration instead of one
    assert mini.runs["adam", 0]["train_error"][-1] < full.runs["adam", 0]["train_error"][-1]
    with pytest.raises(MethodError, match="unknown training method 'lbfgs' in method_options"):
        nn_study(p, ("ng",), 1, method_options={"lbfgs": {}})
    with pytest.raises(InputError, match="method_options must be a dict"):
        nn_study(p, ("ng",), 1, method_options={"adam": 10})


def _tiny(**settings):
    return Preset(
        "tiny",
        "tiny auto-encoder",
        (16, 4, 16),
        ("sigmoid", "sigmoid"),
        "bce",
        5.0,
        lambda seed: curves(30, 10, size=4, seed=seed),
        30,
        **settings,
    )


def test_resume_trains_only_what_is_missing_and_equals_one_study():
    """A study stopped after some runs (emulated by dropping a run and truncating another from a
    finished study, as Ctrl-C leaves it) and resumed through its JSON equals the uninterrupted
    study: the kept runs are the saved ones, object for object, and the retrained ones equal the
    reference bit for bit except for the clocks (the reference is the uninterrupted study)."""
    full = nn_study(_tiny(), ("ng", "adam"), 3, seeds=(0, 1), chunks=2)
    saved = NNStudy.from_json(json.loads(json.dumps(full.to_json())))
    del saved.runs["adam", 1]
    saved.runs["ng", 1] = {k: v[:2] for k, v in saved.runs["ng", 1].items()}
    saved.interrupted, saved.stopped = True, ("ng", 1)
    kept = saved.runs["ng", 0]
    resumed = nn_study(_tiny(), ("ng", "adam"), 3, seeds=(0, 1), chunks=2, resume=saved)
    assert not resumed.interrupted and set(resumed.runs) == set(full.runs)
    assert resumed.runs["ng", 0] is kept
    for key in (("ng", 1), ("adam", 1)):
        for k, v in full.runs[key].items():
            if "seconds" not in k:
                np.testing.assert_array_equal(resumed.runs[key][k], v, err_msg=f"{key} {k}")


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(iters=4), "the saved study has iters 3, this one 4"),
        (dict(chunks=3), r"settings differ in chunks \(saved 2, now 3\)"),
    ],
)
def test_resume_refuses_another_study(change, match):
    """A saved study with other iterations or settings is refused before any training (a
    different number of chunks would make the kept runs incomparable with the new ones)."""
    saved = NNStudy(
        "tiny", ("ng",), (0,), 3, {}, settings=dict(chunks=2, threshold=5.0, backend="numpy"), error="squared"
    )
    args = dict(iters=3, chunks=2) | change
    with pytest.raises(InputError, match=match):
        nn_study(_tiny(), ("ng",), args.pop("iters"), seeds=(0,), resume=saved, **args)
