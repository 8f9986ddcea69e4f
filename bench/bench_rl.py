"""Time per natural-policy-gradient update of ``mid`` and ``geo`` relative to ``ng`` (issue 13).

For each environment: one batch of 2048 steps (8 environments × 256) collected by a freshly
initialized 64-64 tanh policy, then the three updates of :func:`riemannopt.rl.policy_update`
on that same batch, interleaved within each repeat so that load from other processes falls on
all of them alike, with the default settings of ``riemannopt rl`` (damping 0.01, at most 10 CG
steps per solve, trust region 0.01), on the exact Fisher and on the Kronecker-factored one
(``--curvature kfac``).  The baseline is ``ng`` on the same Fisher; the products it is made of
(the surrogate gradient, one Fisher-vector and one connection-vector product on the stored
forward pass) and the collection of the batch (environment steps plus the policy's forward
passes) are timed too, to show where the time goes.

Run (one BLAS thread: the products are small, and threads only contend on a shared machine)::

    OPENBLAS_NUM_THREADS=1 python bench/bench_rl.py
    OPENBLAS_NUM_THREADS=1 python bench/bench_rl.py --env Pendulum-v1 --repeats 9
"""

import argparse
import statistics
import time

import numpy as np

from riemannopt import rl


def timeit(fns, repeats):
    """``{name: (min, median)}`` seconds, the functions interleaved within each repeat."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def bench(env_id, repeats, seed=0):
    cfg = rl.RLConfig().resolved(env_id)
    info = rl.env_info(env_id)
    policy = rl.make_policy(info.kind, info.obs_dim, info.n, cfg.hidden)
    params = policy.init(seed)
    value = rl.ValueFunction(info.obs_dim, cfg.hidden, seed=seed)
    env = rl.make_vec_env(env_id, cfg.n_envs)
    col = rl.Collector(env, info, seed)
    col.collect(policy, params, value, cfg.n_steps, cfg.gamma, cfg.lam)  # warm-up, normalizer statistics
    t0 = time.perf_counter()
    batch = col.collect(policy, params, value, cfg.n_steps, cfg.gamma, cfg.lam)
    collect = time.perf_counter() - t0
    env.close()
    adv = rl.standardize(batch.advantages)
    kw = dict(lr=cfg.lr, max_kl=cfg.max_kl, damping=cfg.damping, max_iter=cfg.cg_iters, advantages=adv)
    state = policy.linearize(params, batch.obs)
    v = 1e-2 * np.random.default_rng(seed).standard_normal(policy.n_params)
    fns, iters = {}, {}
    for curv in rl.CURVATURES:
        for m in rl.METHODS:
            name = m if curv == "fisher" else f"{m} (kfac)"
            fns[name] = lambda m=m, curv=curv: rl.policy_update(policy, params, batch, m, curvature=curv, **kw)
            iters[name] = fns[name]().cg_iterations
    fns["gradient"] = lambda: state.surrogate_gradient(batch.actions, adv)
    fns["fisher_vp"] = lambda: state.fisher_vp(v)
    fns["connection_vp"] = lambda: state.connection_vp(v)
    fns["kfac factors"] = lambda: rl.KFAC(policy, params, batch.obs)
    return policy, batch, collect, timeit(fns, repeats), iters


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--env", default="Pendulum-v1,Reacher-v5,CartPole-v1", help="comma-separated environment ids")
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    print("ms per call: min (median) over repeats; ratios of minima to ng")
    for env_id in args.env.split(","):
        policy, batch, collect, t, iters = bench(env_id, args.repeats)
        print(
            f"\n{env_id}: {policy!r}, {policy.n_params} parameters, batch {len(batch.obs)} "
            f"(collected in {collect * 1e3:.0f} ms)"
        )
        for name, (lo, med) in t.items():
            base = "ng (kfac)" if "kfac)" in name else "ng"
            ratio = f"{lo / t[base][0]:5.2f}× {base}"
            extra = f"  ({iters[name]} CG steps)" if name in iters and "kfac" not in name else ""
            print(f"  {name:14s} {lo * 1e3:8.2f} ({med * 1e3:7.2f})  {ratio}{extra}")


if __name__ == "__main__":
    main()
