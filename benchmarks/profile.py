"""Profile one workload implementation with cProfile: where does the ORM's time go?

``python -m benchmarks.profile get_pk matrx_orm/sync -n 3000`` prints the top
functions by own time (``--sort cumulative`` for inclusive time). Use it beside
``py-spy record`` for whole-process flame graphs.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from benchmarks.harness import _time_async, _time_sync
from benchmarks.run import close_environment, open_environment

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``n`` operations of one implementation under cProfile and print the statistics."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    p.add_argument("workload")
    p.add_argument("impl", help="e.g. matrx_orm/sync, matrx_orm/async, 'raw psycopg/sync'")
    p.add_argument("-n", type=int, default=2000, help="operations to profile")
    p.add_argument("--sort", default="tottime")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--dbname", default="matrx_bench_profile")
    args = p.parse_args(argv)
    env = open_environment(args.dbname, 5, only=[args.workload])
    try:
        workload = env.workloads[0]
        if workload.prepare is not None:
            workload.prepare()
        impl = next(i for i in workload.impls if i.id == args.impl)
        # Warm up (prepared statements), then profile exactly n operations.
        if impl.mode == "async":
            env.loop.run_until_complete(_time_async(impl.op, 0.3, 0, 10))
        else:
            _time_sync(impl.op, 0.3, 0, 10)
        if workload.after_slice:
            workload.after_slice()
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        if impl.mode == "async":
            env.loop.run_until_complete(_time_async(impl.op, 0.0, 0, args.n))
        else:
            _time_sync(impl.op, 0.0, 0, args.n)
        profiler.disable()
        elapsed = time.perf_counter() - started
        if workload.after_slice:
            workload.after_slice()
        print(f"{args.n} ops of {workload.key} / {impl.id}: {elapsed:.2f} s under the profiler")
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    finally:
        close_environment(env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
