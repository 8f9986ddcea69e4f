"""The study behind ``riemannopt rl`` and Figure 4: methods × seeds × environments.

:func:`run_study` trains every combination (one after another, in this process) and returns a
:class:`Study`, which summarizes the learning curves at fixed numbers of environment steps
(mean and standard deviation over seeds), the time per update of each method relative to
``ng``, and saves to / loads from JSON.

A study never loses a run that finished: a run that fails (a ``TrainingError``) is kept with
what it computed and marked ``failure``, and the study goes on; Ctrl-C ends the study, keeping the
finished runs and the interrupted one's finished batches (marked ``interrupted``), and the study
is marked :attr:`Study.interrupted`.
"""

import json
import math
from dataclasses import dataclass, field

import numpy as np

from riemannopt._checks import _short, check_number
from riemannopt._io import atomic_write
from riemannopt.errors import InputError, MethodError, TrainingError
from riemannopt.rl.envs import check_env_id
from riemannopt.rl.training import (
    RLConfig,
    RLResult,
    _train,
    check_config,
    check_seed,
    check_timesteps,
)
from riemannopt.rl.updates import METHODS

__all__ = ["Study", "run_study"]


@dataclass
class Study:
    """Runs of several methods and seeds on several environments.

    Attributes
    ----------
    env_ids, methods : list of str
    seeds : list of int
    timesteps : int
    config : RLConfig
        As given (``lr`` None means each environment's default).
    results : dict
        ``{(env_id, method): [RLResult per seed]}``.
        Runs that failed or were interrupted are there too, marked (:attr:`RLResult.failure`,
        :attr:`RLResult.interrupted`); a run that never started is absent.
    window : int
        Episodes averaged into each point of a learning curve (:meth:`RLResult.returns_at`).
    interrupted : bool
        Ctrl-C stopped the study: the runs after the interrupted one never started.
    """

    env_ids: list
    methods: list
    seeds: list
    timesteps: int
    config: RLConfig
    results: dict = field(default_factory=dict)
    window: int = 10
    interrupted: bool = False

    def runs(self, env_id, method):
        """The runs of ``method`` on ``env_id`` that started (complete, failed or interrupted)."""
        return self.results.get((env_id, method), [])

    def finished(self):
        """``{(env_id, method, seed): run}`` of the runs that need not run again: complete or
        failed (a failed run would fail again), not interrupted."""
        return {(r.env_id, r.method, r.seed): r for runs in self.results.values() for r in runs if not r.interrupted}

    @property
    def failures(self):
        """``{(env_id, method, seed): message}`` of the runs that failed."""
        return {(r.env_id, r.method, r.seed): r.failure for runs in self.results.values() for r in runs if r.failure}

    @property
    def complete(self):
        """Every run of the study finished: none failed, none was interrupted, none is missing."""
        n = len(self.env_ids) * len(self.methods) * len(self.seeds)
        runs = [r for runs in self.results.values() for r in runs]
        return not self.interrupted and len(runs) == n and all(r.complete for r in runs)

    def status(self, env_id, method):
        """How the runs of ``method`` on ``env_id`` ended, e.g. ``"3/3"``, ``"1/3, 1 interrupted"``
        or ``"2/3, 1 failed"`` (complete runs of the seeds asked for, then the others)."""
        runs = self.runs(env_id, method)
        text = f"{sum(r.complete for r in runs)}/{len(self.seeds)}"
        for n, what in (
            (sum(r.interrupted for r in runs), "interrupted"),
            (sum(r.failure is not None for r in runs), "failed"),
            (len(self.seeds) - len(runs), "not run"),
        ):
            if n:
                text += f", {n} {what}"
        return text

    def curves(self, env_id, method, steps):
        """Learning curves, shape ``(n_runs, len(steps))``: the average return of the last
        :attr:`window` episodes at each number of environment steps (NaN beyond the steps an
        interrupted or failed run reached)."""
        steps = np.atleast_1d(np.asarray(steps))
        out = np.full((len(self.runs(env_id, method)), len(steps)), np.nan)
        for row, r in zip(out, self.runs(env_id, method)):
            row[:] = r.returns_at(steps, self.window)
            if not r.complete and r.steps is not None:
                row[steps > r.steps] = np.nan
        return out

    def summary(self, env_id, method, steps):
        """``(mean, std)`` over seeds of :meth:`curves`, NaN where no seed has finished an
        episode yet."""
        c = self.curves(env_id, method, steps)
        ok = np.isfinite(c)
        n = ok.sum(axis=0)
        filled = np.where(ok, c, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, filled.sum(axis=0) / n, np.nan)
            var = np.where(n > 0, (np.where(ok, c - mean, 0.0) ** 2).sum(axis=0) / n, np.nan)
        return mean, np.sqrt(var)

    def mean_over_run(self, env_id, method, n=100):
        """Per complete run, the learning curve averaged over :meth:`grid` (the area under the
        curve per step: a sample-efficiency summary that rewards learning early; a partial run
        would be averaged over its early part only, so it is left out)."""
        c = self.curves(env_id, method, self.grid(n))
        keep = [i for i, r in enumerate(self.runs(env_id, method)) if r.complete]
        out = np.full(len(keep), np.nan)
        for j, i in enumerate(keep):
            if np.isfinite(c[i]).any():
                out[j] = np.nanmean(c[i])
        return out

    def grid(self, n=100):
        """``n`` evenly spaced step counts from the first batch to :attr:`timesteps`."""
        n = check_number(n, "n", integer=True, low=1)
        return np.linspace(self.config.batch, self.timesteps, n).round().astype(int)

    def update_time(self, env_id, method):
        """Mean seconds per policy update over every update of every seed (NaN without one)."""
        times = [np.asarray(r.updates.get("update_time", []), dtype=float) for r in self.runs(env_id, method)]
        times = np.concatenate(times) if times else np.empty(0)
        return float(times.mean()) if times.size else math.nan

    def time_ratio(self, env_id, method):
        """:meth:`update_time` of ``method`` over that of ``ng`` (NaN without an ``ng`` update)."""
        ng = self.update_time(env_id, "ng")
        return self.update_time(env_id, method) / ng if ng > 0 else math.nan

    def table(self, at=None):
        """A text table: per environment and method, the mean ± standard deviation over seeds of
        the average return at the step counts ``at`` (default: a quarter, a half, three quarters
        and all of :attr:`timesteps`) and of :meth:`mean_over_run`, and the time per update
        relative to ``ng``; "—" where no run has a value.  The ``runs`` column counts the complete
        runs (:meth:`status`), and a line after the table names each run that failed or was
        interrupted and says whether the study was interrupted."""
        at = [self.timesteps * q // 4 for q in (1, 2, 3, 4)] if at is None else list(at)
        head = (
            ["env", "method", "runs"]
            + [f"return @ {_steps(s)}" for s in at]
            + ["mean over run", "time/update", "vs ng"]
        )
        rows = []
        for env_id in self.env_ids:
            for m in self.methods:
                cells = [_pm(mu, sd) for mu, sd in zip(*self.summary(env_id, m, at))]
                auc = self.mean_over_run(env_id, m)
                cells.append(_pm(auc.mean(), auc.std()) if auc.size else "—")
                t, ratio = self.update_time(env_id, m), self.time_ratio(env_id, m)
                cells += [
                    f"{t * 1e3:.0f} ms" if math.isfinite(t) else "—",
                    f"{ratio:.2f}×" if math.isfinite(ratio) else "—",
                ]
                rows.append([env_id, m, self.status(env_id, m)] + cells)
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]

        def line(cells):  # names left-aligned, numbers right-aligned
            return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        notes = []
        for runs in self.results.values():
            for r in runs:
                if r.failure is not None:
                    notes.append(f"! {r.method} on {r.env_id} (seed {r.seed}) failed: {r.failure}")
                elif r.interrupted:
                    notes.append(
                        f"! {r.method} on {r.env_id} (seed {r.seed}) interrupted after {r.steps} environment steps"
                    )
        if self.interrupted:
            notes.append("! interrupted: the table holds the runs finished before Ctrl-C")
        return "\n".join([line(head)] + [line(r) for r in rows] + notes)

    def to_dict(self):
        """A JSON-ready dict of the whole study (every run's episodes and update records)."""
        from dataclasses import asdict

        return {
            "env_ids": self.env_ids,
            "methods": self.methods,
            "seeds": self.seeds,
            "timesteps": self.timesteps,
            "window": self.window,
            "config": asdict(self.config),
            "interrupted": self.interrupted,
            "runs": [r.to_dict() for runs in self.results.values() for r in runs],
        }

    def save(self, path):
        """Write :meth:`to_dict` as JSON to ``path``, atomically (a reader, a crash or Ctrl-C
        sees the old file or the new one, never half of one)."""
        atomic_write(path, json.dumps(self.to_dict()))

    @classmethod
    def load(cls, path):
        """A study saved by :meth:`save`.

        A study saved before the exact Fisher's curvature was named ``"fisher"`` (it was
        ``"exact"``) loads with ``config.curvature == "fisher"``
        (:meth:`RLConfig.from_dict <riemannopt.rl.RLConfig.from_dict>`), so that it can be
        resumed with today's settings.

        Raises
        ------
        InputError
            The file holds the history of a ``riemannopt nn`` study (also for JSON that is not a
            saved study: ``KeyError``, ``ValueError`` or ``TypeError`` name what is missing).
        """
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if isinstance(data, dict) and "preset" in data and "env_ids" not in data:
            raise InputError(f"{path} is the history of a network-training study (riemannopt nn), not of riemannopt rl")
        study = cls(
            data["env_ids"],
            data["methods"],
            data["seeds"],
            data["timesteps"],
            RLConfig.from_dict(data["config"]),
            window=data["window"],
            interrupted=bool(data.get("interrupted", False)),
        )
        for run in data["runs"]:
            r = RLResult.from_dict(run)
            study.results.setdefault((r.env_id, r.method), []).append(r)
        return study


def _steps(s):
    return f"{s / 1e6:g}M" if s >= 1e6 else f"{s / 1e3:g}k"


def _pm(mean, sd):
    return f"{mean:.1f} ± {sd:.1f}" if math.isfinite(mean) else "—"


def _names(values, name, allowed=None):
    """A non-empty list of distinct strings (a bare string is a mistake: it would be iterated
    letter by letter)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise InputError(f"{name} must be a list of names, got {_short(values)}")
    values = list(values)
    if not values:
        raise InputError(f"{name} must not be empty")
    for v in values:
        if allowed is None:
            check_env_id(v, f"each of {name}")
        elif v not in allowed:
            raise MethodError(f"{name}: unknown policy update {v!r}; expected one of {', '.join(allowed)}")
    if len(set(values)) != len(values):
        raise InputError(f"{name} must be distinct, got {values!r}")
    return values


def run_study(env_ids, methods, timesteps, seeds, *, config=None, progress=None, window=10, resume=None):
    """Train every method with every seed on every environment.

    Every argument and every environment is checked before the first run starts.  A run that
    fails is kept with what it computed (marked :attr:`RLResult.failure`) and the study goes on;
    Ctrl-C ends the study and returns what was finished (see the module docstring).

    Parameters
    ----------
    env_ids, methods : sequence of str
    timesteps : int
        Environment steps per run (at least one batch, ``config.batch``).
    seeds : sequence of int
        Distinct, ≥ 0.
    config : RLConfig, optional
        Shared settings; ``lr=None`` uses each environment's :func:`~riemannopt.rl.default_lr`.
    progress : callable, optional
        Called with each batch's environment steps (e.g. a tqdm bar's ``update``).
    window : int
        See :attr:`Study.window`.
    resume : Study, optional
        A study stopped earlier (:meth:`Study.load` of the file ``riemannopt rl --history``
        wrote): its runs that finished or failed are kept as they are and only the others are
        trained (a failed run would fail again: the runs are deterministic).  Its ``timesteps``
        and ``config`` must be this call's.

    Returns
    -------
    Study
        :attr:`Study.failures` names the runs that failed, :attr:`Study.interrupted` says
        whether Ctrl-C stopped the study.
    """
    from riemannopt.rl.envs import env_info

    env_ids = _names(env_ids, "env_ids")
    methods = _names(methods, "methods", METHODS)
    config = check_config(config)
    timesteps = check_timesteps(timesteps, config)
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise InputError(f"seeds must be a list of integers >= 0, got {_short(seeds)}")
    seeds = [check_seed(s, f"seeds[{i}]") for i, s in enumerate(seeds)]
    if not seeds or len(set(seeds)) != len(seeds):
        raise InputError(f"seeds must be distinct integers >= 0, at least one, got {seeds!r}")
    window = check_number(window, "window", integer=True, low=1)
    if progress is not None and not callable(progress):
        raise InputError(f"progress must be callable or None, got {_short(progress)}")
    study = Study(env_ids, methods, seeds, timesteps, config, window=window)
    done = _resumable(study, resume)

    def keep(run):
        study.results.setdefault((run.env_id, run.method), []).append(run)

    # The resumed runs are the study's from the start: a Ctrl-C at any later moment keeps them.
    for key in _keys(study):
        if key in done:
            keep(done[key])
    try:
        infos = {env_id: env_info(env_id) for env_id in env_ids}
        for env_id in env_ids:
            for method in methods:
                for seed in seeds:
                    if (env_id, method, seed) in done:
                        continue
                    try:
                        run = _train(
                            env_id,
                            method,
                            timesteps,
                            seed=seed,
                            config=config,
                            info=infos[env_id],
                            on_batch=progress,
                            keep=keep,
                        )
                    except TrainingError:
                        continue  # kept, marked with its failure
                    if run.interrupted:
                        study.interrupted = True
                        break
                if study.interrupted:
                    break
            if study.interrupted:
                break
    except KeyboardInterrupt:
        study.interrupted = True
    for runs in study.results.values():  # seed order, resumed and new runs alike
        runs.sort(key=lambda r: seeds.index(r.seed))
    return study


def _keys(study):
    return [(e, m, s) for e in study.env_ids for m in study.methods for s in study.seeds]


def _resumable(study, resume):
    """``{(env_id, method, seed): run}`` of the runs of ``resume`` that need not run again
    (finished or failed), after checking that ``resume`` is the same study."""
    if resume is None:
        return {}
    if not isinstance(resume, Study):
        raise InputError(f"resume must be a Study (Study.load of a saved study), got {_short(resume)}")
    if resume.timesteps != study.timesteps:
        raise InputError(f"cannot resume: the saved study has timesteps {resume.timesteps}, this one {study.timesteps}")
    if resume.config != study.config:
        old, new = vars(resume.config), vars(study.config)
        differ = sorted(k for k in old if old[k] != new[k])
        raise InputError(
            "cannot resume: the saved study's settings differ in "
            + ", ".join(f"{k} (saved {old[k]!r}, now {new[k]!r})" for k in differ)
        )
    return resume.finished()
