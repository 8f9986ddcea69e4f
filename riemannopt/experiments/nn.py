"""The paper's network-training experiment (§7.2, Figure 3; App. F, Figure 5) as a study over
methods and seeds.

:func:`nn_study` trains one preset network with every method for the same number of iterations,
once per seed (seed ``s`` generates the data and initializes the network, so the methods are
compared on the same data and start), and returns an :class:`NNStudy`: the histories, a table of
the mean and spread of the errors at fixed iterations and at fixed time, a paired table (on how
many seeds each method beats ``ng``), the figure, and a JSON form.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from riemannopt._checks import check_number
from riemannopt._io import deferred_interrupt
from riemannopt.errors import InputError, MethodError, TrainingError

__all__ = ["nn_study", "NNStudy", "STUDY_CLOCKS"]

#: History keys :class:`NNStudy` can measure time with: processor time (steady on a shared
#: machine) or wall time.
STUDY_CLOCKS = {"cpu": "cpu_seconds", "wall": "seconds"}


#: The y-axis label of :meth:`NNStudy.figure` for each kind of training error.
_ERROR_LABELS = {
    "squared": "training error (squared reconstruction)",
    "classification": "training error (classification)",
}


def _value_at(history, key, clock, t):
    """``history[key]`` at the last entry whose clock is ≤ ``t``."""
    i = int(np.searchsorted(history[clock], t, side="right")) - 1
    return history[key][max(i, 0)]


@dataclass
class NNStudy:
    """Histories of a training study.

    Attributes
    ----------
    preset : str
        The network (a key of :data:`riemannopt.nn.PRESETS`, or the name of a user's data).
    methods : tuple of str
    seeds : tuple of int
    iters : int
    runs : dict
        ``{(method, seed): history}`` (:attr:`riemannopt.nn.TrainResult.history`; a failed
        run's partial history).
    settings : dict
        The options passed to :func:`riemannopt.nn.train`.
    failures : dict
        ``{(method, seed): message}`` of runs that raised a ``TrainingError``.
    interrupted : bool
        True when Ctrl-C stopped the study (the runs done so far are kept).
    error : str
        What ``train_error`` measures: ``"squared"`` or ``"classification"``.
    stopped : tuple or None
        ``(method, seed)`` of the run Ctrl-C stopped: its partial history is in :attr:`runs` if
        it had measured its start, and ``method`` is None if Ctrl-C came while seed ``seed``'s
        data was being generated.  None when the study finished or stopped between runs.
    """

    preset: str
    methods: tuple
    seeds: tuple
    iters: int
    runs: dict
    settings: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)
    interrupted: bool = False
    error: str = "squared"
    stopped: tuple = None

    # -- measurements ---------------------------------------------------------------------------

    def histories(self, method):
        """The histories of ``method``, one per seed that ran."""
        return [self.runs[method, s] for s in self.seeds if (method, s) in self.runs]

    def at_iteration(self, method, key, k):
        """``key`` at iteration ``k`` (or a run's last one, if it stopped earlier), per seed."""
        return np.array([h[key][min(k, len(h[key]) - 1)] for h in self.histories(method)])

    def at_time(self, method, key, t, clock="cpu"):
        """``key`` at the last iteration finished by time ``t`` on ``clock``, per seed."""
        return np.array([_value_at(h, key, STUDY_CLOCKS[clock], t) for h in self.histories(method)])

    def seconds_per_iteration(self, method, clock="cpu"):
        """Mean time per iteration of each seed's run."""
        c = STUDY_CLOCKS[clock]
        return np.array([h[c][-1] / max(len(h[c]) - 1, 1) for h in self.histories(method)])

    def complete(self, history):
        """Whether ``history`` reached :attr:`iters` (else it failed or was interrupted)."""
        return int(history["iteration"][-1]) >= self.iters

    def common_time(self, clock="cpu"):
        """The latest time every complete run except Adam's reached (Adam is much cheaper per
        iteration and would otherwise set a very early time, and so would a run that stopped
        early); with no such run, the same over every run."""
        c = STUDY_CLOCKS[clock]
        for keep in (lambda m, h: m != "adam" and self.complete(h), lambda m, h: m != "adam", lambda m, h: True):
            ends = [h[c][-1] for (m, _), h in self.runs.items() if keep(m, h)]
            if ends:
                return float(min(ends))
        return 0.0

    # -- reports --------------------------------------------------------------------------------

    def table(self, iterations=None, times=None, clock="cpu", with_iterations=True):
        """Mean and range over seeds of the training (and test) error at fixed iterations and at
        fixed times.

        Parameters
        ----------
        iterations : sequence of int, optional
            Default: half and all of :attr:`iters`.
        times : sequence of float, optional
            Default: half and all of :meth:`common_time`.
        clock : {"cpu", "wall"}
        with_iterations : bool
            Include the fixed-iteration columns (False: only the fixed-time ones).
        """
        iterations, times = self._points(iterations, times, clock)
        has_test = any("test_error" in h for h in self.runs.values())
        cols = []
        if with_iterations:
            cols += [(f"train @{k}", "train_error", "it", k) for k in iterations]
            if has_test:
                cols.append((f"test @{iterations[-1]}", "test_error", "it", iterations[-1]))
        cols += [(f"train @{t:.3g}s", "train_error", "t", t) for t in times]
        if has_test:
            cols.append((f"test @{times[-1]:.3g}s", "test_error", "t", times[-1]))
        percent = self.error == "classification"
        unit = "classification errors in %" if percent else "squared errors"
        lines = [
            f"{self.preset}: {len(self.seeds)} seed(s) {', '.join(map(str, self.seeds))}, {self.iters} iterations; "
            f"{unit}, mean [min, max] over seeds; times in {clock} seconds",
            "| method | " + " | ".join(c[0] for c in cols) + f" | {clock} s / iteration |",
            "|---" * (len(cols) + 2) + "|",
        ]
        marks = set()
        c = STUDY_CLOCKS[clock]
        for m in self.methods:
            if not self.histories(m):
                lines.append(f"| {m} | " + " | ".join("—" for _ in cols) + " | — |")
                continue
            cells = []
            for _, key, kind, at in cols:
                scale = 100.0 if percent else 1.0
                hs = self.histories(m)
                if kind == "it":
                    values = self.at_iteration(m, key, at)
                    # A run that stopped before iteration `at` contributes its last value.
                    ended = [h["iteration"][-1] < at for h in hs]
                else:
                    values = self.at_time(m, key, at, clock)
                    ended = [h[c][-1] < at for h in hs]
                done = [self.complete(h) for h in hs]
                mark = ("†" if any(e and d for e, d in zip(ended, done)) else "") + (
                    "‡" if any(e and not d for e, d in zip(ended, done)) else ""
                )
                marks.update(mark)
                cells.append(_cell(scale * values) + mark)
            spi = self.seconds_per_iteration(m, clock)
            lines.append(f"| {m} | " + " | ".join(cells) + f" | {spi.mean():.3g} |")
        if "†" in marks:
            lines.append("† a run had finished all its iterations before that time: its last value")
        if "‡" in marks:
            lines.append("‡ a run had stopped (failed or interrupted) before that point: its last value")
        for (m, s), msg in self.failures.items():
            lines.append(f"! {m} (seed {s}) failed: {msg}")
        if self.interrupted:
            lines.append(f"! {self.interruption()}; the runs finished before it are kept")
        return "\n".join(lines)

    def _points(self, iterations, times, clock):
        """The table's iterations and times: those given, or half and all of :attr:`iters` and of
        :meth:`common_time`."""
        iterations = list(iterations or sorted({max(self.iters // 2, 1), self.iters}))
        if not times:
            t_end = self.common_time(clock)
            times = [t_end / 2, t_end]
        return iterations, list(times)

    def _per_seed(self, method, kind, at, clock):
        """``{seed: training error}`` of ``method`` at iteration ``at`` (``kind="it"``) or time
        ``at`` (``kind="t"``), as :meth:`at_iteration` and :meth:`at_time` measure it."""
        c = STUDY_CLOCKS[clock]
        out = {}
        for s in self.seeds:
            h = self.runs.get((method, s))
            if h is None:
                continue
            e = h["train_error"]
            out[s] = float(e[min(at, len(e) - 1)] if kind == "it" else _value_at(h, "train_error", c, at))
        return out

    def wins(self, method, iteration=None, time=None, clock="cpu", baseline="ng"):
        """On how many seeds ``method``'s training error is below ``baseline``'s, at iteration
        ``iteration`` or at time ``time`` (exactly one of them), seed by seed (each seed gives both
        methods the same data and the same start).

        A run that stopped before that point counts with its last value, as in :meth:`table`; a
        NaN error counts as the worst.

        Returns
        -------
        (int, int, int)
            The seeds where it is strictly below, those where the two are equal (e.g. a correction
            that was still off: the method is then ``ng`` exactly), and the seeds where both
            methods ran.
        """
        if (iteration is None) == (time is None):
            raise InputError("give exactly one of iteration and time")
        kind, at = ("it", int(iteration)) if iteration is not None else ("t", float(time))
        mine = self._per_seed(method, kind, at, clock)
        base = self._per_seed(baseline, kind, at, clock)
        common = [s for s in mine if s in base]
        worst = lambda v: math.inf if math.isnan(v) else v  # noqa: E731
        below = sum(worst(mine[s]) < worst(base[s]) for s in common)
        tied = sum(worst(mine[s]) == worst(base[s]) for s in common)
        return below, tied, len(common)

    def paired_table(self, iterations=None, times=None, clock="cpu", baseline="ng"):
        """Per seed, whether each method's training error is below ``baseline``'s: the count of
        such seeds over the seeds both ran (e.g. ``3/3``; ``0/3 (2 equal)`` when two seeds tie, as
        a correction does while it is still off), at the iterations and times of :meth:`table`
        (same defaults).  The mean of :meth:`table` can hide a method that wins on
        most seeds by a little and loses on one by a lot; this table shows it.  Empty string when
        the study has no run of ``baseline``."""
        if not self.histories(baseline):
            return ""
        iterations, times = self._points(iterations, times, clock)
        cols = [(f"train @{k}", dict(iteration=k)) for k in iterations]
        cols += [(f"train @{t:.3g}s", dict(time=t)) for t in times]
        lines = [
            f"paired with {baseline}: seeds on which the method's training error is below {baseline}'s "
            f"(same seed: same data and start); times in {clock} seconds",
            "| method | " + " | ".join(c[0] for c in cols) + " |",
            "|---" * (len(cols) + 1) + "|",
        ]
        for m in self.methods:
            if m == baseline:
                continue
            cells = []
            for _, at in cols:
                below, tied, n = self.wins(m, clock=clock, baseline=baseline, **at)
                cells.append((f"{below}/{n}" + (f" ({tied} equal)" if tied else "")) if n else "—")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def interruption(self):
        """What Ctrl-C stopped, in words ("" if the study was not interrupted)."""
        if not self.interrupted:
            return ""
        if self.stopped is None:
            where = "between runs" if self.runs or self.failures else "before the first run"
        else:
            m, s = self.stopped
            h = self.runs.get(self.stopped)
            if m is None:
                where = f"while generating the data of seed {s}"
            elif h is None:
                where = f"in {m} (seed {s}) before its first iteration"
            else:
                where = f"in {m} (seed {s}) after iteration {int(h['iteration'][-1])} of {self.iters}"
        return f"interrupted (Ctrl-C or SIGTERM) {where}"

    def curves(self, clock="cpu", n_times=200):
        """What :meth:`figure` draws: per method (in :attr:`methods` order), None if it has no
        run, else ``(errors, times, time_errors)``: the training error of each seed's run up to
        the shortest run's last iteration, shape ``(seeds, iterations)``; ``n_times`` times from
        0 to the time every seed's run reached on ``clock``; and the mean over seeds of the
        training error at the last iteration finished by each of those times."""
        key = STUDY_CLOCKS[clock]
        out = {}
        for m in self.methods:
            hs = self.histories(m)
            if not hs:
                out[m] = None
                continue
            n = min(len(h["train_error"]) for h in hs)
            errors = np.array([h["train_error"][:n] for h in hs])
            times = np.linspace(0.0, min(h[key][-1] for h in hs), n_times)
            mean = np.mean([[_value_at(h, "train_error", key, t) for t in times] for h in hs], axis=0)
            out[m] = (errors, times, mean)
        return out

    def figure(self, clock="cpu", title=None, layout="song"):
        """The study's figure from :meth:`curves`: the error against iterations and against time
        on ``clock``, the mean (and range) over seeds; the title says where Ctrl-C stopped an
        interrupted study.  ``layout="song"``: the paper's Figure 3 (:func:`riemannopt.plot.training_figure`,
        linear axes, time on the top axis); ``"pascanu"``: Pascanu & Bengio's Figure 3
        (:func:`riemannopt.plot.benchmark_figure`, two panels, logarithmic axes)."""
        from riemannopt.plot import benchmark_figure, training_figure

        seeds = f"{len(self.seeds)} seeds, mean and range" if len(self.seeds) > 1 else f"seed {self.seeds[0]}"
        title = title or f"Training the {self.preset} network"
        if self.interrupted:
            title += f"\n{self.interruption()}"
        draw = {"song": training_figure, "pascanu": benchmark_figure}[layout]
        return draw(
            self.curves(clock),
            clock=clock,
            ylabel=_ERROR_LABELS.get(self.error, "training error"),
            legend_title=seeds,
            title=title,
        )

    # -- JSON -----------------------------------------------------------------------------------

    def to_json(self):
        """A JSON-serializable dict (NaN written as ``null``)."""

        def clean(a):
            a = np.asarray(a)
            if a.dtype == bool:
                return a.tolist()
            return [None if isinstance(x, float) and math.isnan(x) else x for x in a.tolist()]

        runs = {}
        for (m, s), h in self.runs.items():
            runs.setdefault(m, {})[str(s)] = {k: clean(v) for k, v in h.items()}
        return dict(
            preset=self.preset,
            methods=list(self.methods),
            seeds=list(self.seeds),
            iters=self.iters,
            settings=_jsonable(self.settings),
            runs=runs,
            failures={f"{m}/{s}": msg for (m, s), msg in self.failures.items()},
            interrupted=self.interrupted,
            stopped=None if self.stopped is None else dict(method=self.stopped[0], seed=self.stopped[1]),
            error=self.error,
        )

    @classmethod
    def from_json(cls, data):
        """The inverse of :meth:`to_json`.

        Raises
        ------
        InputError
            If ``data`` is not a study written by :meth:`to_json`: saying what it is instead when
            it is a ``riemannopt rl`` history, else naming the entries that are missing or what
            is malformed.
        """
        if not isinstance(data, dict):
            raise InputError(f"a training study is a JSON object (NNStudy.to_json), not a JSON {type(data).__name__}")
        if "env_ids" in data and "preset" not in data:
            raise InputError(
                "this is the history of a reinforcement-learning study (riemannopt rl), not of riemannopt nn"
            )
        missing = [k for k in ("preset", "methods", "seeds", "iters", "runs") if k not in data]
        if missing:
            raise InputError(f"not a training study (NNStudy.to_json): it has no {', '.join(map(repr, missing))}")
        try:
            runs = {}
            for m, per_seed in data["runs"].items():
                for s, h in per_seed.items():
                    runs[m, int(s)] = {k: _array(k, v) for k, v in h.items()}
                    if "iteration" not in runs[m, int(s)]:
                        raise ValueError(f"run {m}/{s} has no 'iteration'")
            failures = {}
            for key, msg in data.get("failures", {}).items():
                m, s = key.rsplit("/", 1)
                failures[m, int(s)] = msg
            stopped = data.get("stopped")
            return cls(
                str(data["preset"]),
                tuple(data["methods"]),
                tuple(int(s) for s in data["seeds"]),
                int(data["iters"]),
                runs,
                dict(data.get("settings", {})),
                failures,
                bool(data.get("interrupted", False)),
                data.get("error", "squared"),
                None if stopped is None else (stopped["method"], int(stopped["seed"])),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"a malformed training study ({type(exc).__name__}: {exc})") from None


def _array(key, values):
    if key == "corrected":
        return np.array(values, dtype=bool)
    if key in ("iteration", "cg_iterations", "evaluations"):
        return np.array(values, dtype=int)
    return np.array([np.nan if x is None else x for x in values], dtype=float)


def _jsonable(x):
    """Settings as strict JSON: an infinite number becomes ``"inf"``, a dtype its name, anything
    else that JSON cannot hold its ``str``."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float):
        return x if math.isfinite(x) else str(x)
    if x is None or isinstance(x, (bool, int, str)):
        return x
    try:
        return np.dtype(x).name
    except TypeError:
        return str(x)


def _cell(v):
    v = v[np.isfinite(v)] if len(v) else v
    if not len(v):
        return "—"
    if len(v) == 1:
        return f"{v[0]:.4g}"
    return f"{v.mean():.4g} [{v.min():.4g}, {v.max():.4g}]"


def nn_study(
    preset,
    methods,
    iters,
    seeds=(0,),
    *,
    data=None,
    backend="numpy",
    progress=None,
    resume=None,
    method_options=None,
    on_run=None,
    **options,
):
    """Train ``preset``'s network with each method for ``iters`` iterations, once per seed.

    Parameters
    ----------
    preset : Preset or str
        A :class:`riemannopt.nn.Preset` or its name.
    methods : sequence of str
        Methods of :func:`riemannopt.nn.train`.
    iters : int
    seeds : sequence of int
        Seed ``s`` generates the data (for presets with generated data) and initializes the
        network.
    data : Dataset, optional
        Data to use instead of the preset's generated data (e.g. from
        :func:`riemannopt.nn.datasets.load_npz`), the same for every seed.
    backend : str
    progress : bool, optional
        Progress bars (default: when stderr is a terminal).
    resume : NNStudy, optional
        A study stopped earlier (for instance read back with :meth:`NNStudy.from_json` from the
        file ``riemannopt nn --history`` wrote): its runs that reached ``iters`` or failed are
        kept as they are, and only the others are trained (a failed run would fail again: the
        runs are deterministic).  Its preset, ``iters`` and settings must be this call's.
    method_options : dict, optional
        ``{method: {option: value}}``: options of :func:`riemannopt.nn.train` for one method
        only, over ``options`` (e.g. ``{"adam": {"batch_size": 100}}``).
    on_run : callable, optional
        Called as ``on_run(study)`` each time a run has finished or failed and been recorded
        (with Ctrl-C held back), e.g. to write the study so far: ``riemannopt nn --history``
        rewrites its file after every run, so that a study of hours that is killed outright
        loses at most the run in progress.
    **options
        Further options of :func:`riemannopt.nn.train`, for every method; ``threshold``, ``chunks`` and
        ``weight_decay`` default to the preset's (:meth:`riemannopt.nn.Preset.training_options`:
        the paper's code's settings for that data set).

    Returns
    -------
    NNStudy
        A run that raises a ``TrainingError`` is recorded in ``failures`` with its partial
        history.  Ctrl-C at any moment (data generation, set-up, an iteration, between runs)
        ends the study with the runs finished so far and the stopped run's partial history:
        ``interrupted`` is set and ``stopped`` names that run.
    """
    from riemannopt.nn import METHODS, train
    from riemannopt.nn.objective import error_kind
    from riemannopt.nn.presets import get_preset

    # Checked here, not by the first train call, so that no argument can end the study after
    # runs have finished.
    iters = check_number(iters, "iters", integer=True, low=0)
    seeds = tuple(check_number(s, f"seeds[{i}]", integer=True, low=0) for i, s in enumerate(seeds))
    methods = tuple(methods)
    for m in methods:
        if m not in METHODS:
            raise MethodError(f"unknown training method {m!r} in methods; expected one of {list(METHODS)}")
    if method_options is None:
        method_options = {}
    if not isinstance(method_options, dict) or not all(isinstance(v, dict) for v in method_options.values()):
        raise InputError("method_options must be a dict {method: {option: value}}")
    for m in method_options:
        if m not in METHODS:
            raise MethodError(f"unknown training method {m!r} in method_options; expected one of {list(METHODS)}")
    method_options = {m: dict(o) for m, o in method_options.items() if o}
    p = get_preset(preset) if isinstance(preset, str) else preset
    for key, value in p.training_options().items():
        options.setdefault(key, value)
    if data is None:
        p.check_data()  # a missing optional dependency (scikit-learn for digits) before any run
    study = NNStudy(
        p.name if data is None else f"{p.name} on {data.name}",
        tuple(methods),
        tuple(seeds),
        iters,
        {},
        settings=dict(options, backend=backend, **({"method_options": method_options} if method_options else {})),
        error=error_kind(p.loss),
    )
    kept = _resumable(study, resume)
    try:
        net = p.network(backend=backend)
        for s in seeds:
            if all((m, s) in kept for m in methods):
                continue
            study.stopped = (None, s)
            d = data if data is not None else p.dataset(s)
            for m in methods:
                if (m, s) in kept:
                    continue
                study.stopped = (m, s)
                try:
                    res = train(
                        net,
                        d.X_train,
                        d.T_train,
                        m,
                        iters,
                        seed=s,
                        X_test=d.X_test,
                        T_test=d.T_test,
                        progress=progress,
                        **{**options, **method_options.get(m, {})},
                    )
                except TrainingError as exc:
                    with deferred_interrupt():
                        study.failures[m, s] = str(exc)
                        if exc.result is not None:
                            study.runs[m, s] = exc.result.history
                        study.stopped = None
                        if on_run is not None:
                            on_run(study)
                    continue
                # Recorded with Ctrl-C held back: a run that train returned is never lost.
                with deferred_interrupt():
                    study.runs[m, s] = res.history
                    if res.interrupted:
                        study.interrupted = True
                        return study
                    study.stopped = None
                    if on_run is not None:
                        on_run(study)
    except KeyboardInterrupt:
        study.interrupted = True
    return study


def _resumable(study, resume):
    """Copy into ``study`` the runs of ``resume`` that need not run again (complete or failed),
    after checking that ``resume`` is the same study; returns their keys."""
    if resume is None:
        return set()
    if not isinstance(resume, NNStudy):
        raise InputError(f"resume must be an NNStudy (NNStudy.from_json of a saved study), got {type(resume).__name__}")
    for what, old, new in (
        ("preset", resume.preset, study.preset),
        ("iters", resume.iters, study.iters),
        ("error", resume.error, study.error),
    ):
        if old != new:
            raise InputError(f"cannot resume: the saved study has {what} {old!r}, this one {new!r}")
    old, new = _jsonable(resume.settings), _jsonable(study.settings)
    if old != new:
        differ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        raise InputError(
            "cannot resume: the saved study's settings differ in "
            + ", ".join(f"{k} (saved {old.get(k)!r}, now {new.get(k)!r})" for k in differ)
        )
    wanted = {(m, s) for m in study.methods for s in study.seeds}
    kept = set()
    for key, h in resume.runs.items():
        if key in wanted and (key in resume.failures or resume.complete(h)):
            study.runs[key] = h
            kept.add(key)
    for key, msg in resume.failures.items():
        if key in wanted:
            study.failures[key] = msg
            kept.add(key)
    return kept
