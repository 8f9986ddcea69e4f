"""The study behind ``riemannopt rl`` and Figure 4: methods × seeds × environments.

:func:`run_study` trains every combination (one after another, in this process) and returns a
:class:`Study`, which summarizes the learning curves at fixed numbers of environment steps
(mean and standard deviation over seeds), the time per update of each method relative to
``ng``, and saves to / loads from JSON.
"""

import json
from dataclasses import dataclass, field

import numpy as np

from riemannopt.rl.training import RLConfig, RLResult, train

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
    window : int
        Episodes averaged into each point of a learning curve (:meth:`RLResult.returns_at`).
    """

    env_ids: list
    methods: list
    seeds: list
    timesteps: int
    config: RLConfig
    results: dict = field(default_factory=dict)
    window: int = 10

    def curves(self, env_id, method, steps):
        """Learning curves, shape ``(n_seeds, len(steps))``: the average return of the last
        :attr:`window` episodes at each number of environment steps."""
        return np.array([r.returns_at(steps, self.window) for r in self.results[env_id, method]])

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
        """Per seed, the learning curve averaged over :meth:`grid` (the area under the curve per
        step: a sample-efficiency summary that rewards learning early)."""
        return np.nanmean(self.curves(env_id, method, self.grid(n)), axis=1)

    def grid(self, n=100):
        """``n`` evenly spaced step counts from the first batch to :attr:`timesteps`."""
        return np.linspace(self.config.batch, self.timesteps, n).round().astype(int)

    def update_time(self, env_id, method):
        """Mean seconds per policy update over every update of every seed."""
        return float(np.mean(np.concatenate([r.updates["update_time"] for r in self.results[env_id, method]])))

    def time_ratio(self, env_id, method):
        """:meth:`update_time` of ``method`` over that of ``ng`` (NaN without an ``ng`` run)."""
        if (env_id, "ng") not in self.results:
            return float("nan")
        return self.update_time(env_id, method) / self.update_time(env_id, "ng")

    def table(self, at=None):
        """A text table: per environment and method, the mean ± standard deviation over seeds of
        the average return at the step counts ``at`` (default: a quarter, a half, three quarters
        and all of :attr:`timesteps`) and of :meth:`mean_over_run`, and the time per update
        relative to ``ng``."""
        at = [self.timesteps * q // 4 for q in (1, 2, 3, 4)] if at is None else list(at)
        head = ["env", "method"] + [f"return @ {_steps(s)}" for s in at] + ["mean over run", "time/update", "vs ng"]
        rows = []
        for env_id in self.env_ids:
            for m in self.methods:
                cells = [f"{mu:.1f} ± {sd:.1f}" for mu, sd in zip(*self.summary(env_id, m, at))]
                auc = self.mean_over_run(env_id, m)
                cells.append(f"{auc.mean():.1f} ± {auc.std():.1f}")
                t = self.update_time(env_id, m)
                rows.append([env_id, m] + cells + [f"{t * 1e3:.0f} ms", f"{self.time_ratio(env_id, m):.2f}×"])
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]

        def line(cells):  # names left-aligned, numbers right-aligned
            return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        return "\n".join([line(head)] + [line(r) for r in rows])

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
            "runs": [r.to_dict() for runs in self.results.values() for r in runs],
        }

    def save(self, path):
        """Write :meth:`to_dict` as JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f)

    @classmethod
    def load(cls, path):
        """A study saved by :meth:`save`."""
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        config = dict(data["config"])
        config["hidden"] = tuple(config["hidden"])
        study = cls(
            data["env_ids"],
            data["methods"],
            data["seeds"],
            data["timesteps"],
            RLConfig(**config),
            window=data["window"],
        )
        for run in data["runs"]:
            r = RLResult.from_dict(run)
            study.results.setdefault((r.env_id, r.method), []).append(r)
        return study


def _steps(s):
    return f"{s / 1e6:g}M" if s >= 1e6 else f"{s / 1e3:g}k"


def run_study(env_ids, methods, timesteps, seeds, *, config=None, progress=None, window=10):
    """Train every method with every seed on every environment.

    Parameters
    ----------
    env_ids, methods : sequence of str
    timesteps : int
        Environment steps per run.
    seeds : sequence of int
    config : RLConfig, optional
        Shared settings; ``lr=None`` uses each environment's :func:`~riemannopt.rl.default_lr`.
    progress : callable, optional
        Called with each batch's environment steps (e.g. a tqdm bar's ``update``).
    window : int
        See :attr:`Study.window`.

    Returns
    -------
    Study

    Raises
    ------
    TrainingError
        A run diverged (``.result`` holds that run so far).
    """
    from riemannopt.rl.envs import env_info

    config = config or RLConfig()
    study = Study(list(env_ids), list(methods), list(seeds), int(timesteps), config, window=window)
    for env_id in study.env_ids:
        info = env_info(env_id)
        for method in study.methods:
            for seed in study.seeds:
                run = train(env_id, method, timesteps, seed=seed, config=config, info=info, on_batch=progress)
                study.results.setdefault((env_id, method), []).append(run)
    return study
