"""Command line of the benchmark: ``python -m benchmarks [--quick] [options]``.

It finds a PostgreSQL server the way the tests do (``matrx_orm.devdb.find_server``),
creates a dedicated database (``matrx_bench``, dropped and recreated), loads the
data with COPY, measures every workload and writes ``benchmarks/results/latest.md``
and ``latest.json`` (plus time-stamped copies).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import sys
import types
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent

__all__ = ["main"]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer, shorter rounds (about two minutes)")
    p.add_argument("--rounds", type=int, help="rounds per workload (default 7, quick 5)")
    p.add_argument("--seconds", type=float, help="time slice per system and round (default 1.0, quick 0.3)")
    p.add_argument("--only", help="comma-separated workload keys (see --list)")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--peers", default="auto", help="'auto' (installed ones), 'none', or a comma-separated list")
    p.add_argument("--dbname", default="matrx_bench", help="database to (re)create for the run")
    p.add_argument(
        "--prepare-threshold", default="5",
        help="psycopg prepare_threshold for every pool (an integer, or 'none' as behind PgBouncer)",
    )
    p.add_argument("--out", default=str(HERE / "results"), help="directory for latest.md / latest.json")
    return p.parse_args(argv)

def _raw_pool_settings(config: Any) -> dict[str, Any]:
    """Return the psycopg_pool arguments matching the ORM's pool for ``config``."""
    return {
        "conninfo": config.conninfo(),
        "min_size": config.min_pool_size,
        "max_size": config.max_pool_size,
        "timeout": config.pool_timeout,
        "max_idle": config.max_idle,
        "max_lifetime": config.max_lifetime,
        "kwargs": {"autocommit": True, "prepare_threshold": config.prepare_threshold},
        "name": "raw-baseline",
        "open": False,
    }


class Environment(types.SimpleNamespace):
    """What a run needs: the loop, the workloads and their context, the config."""


def open_environment(dbname: str, threshold: int | None, *, only: list[str] | None = None, peers: str = "none") -> Environment:
    """Create and load the database, register it, open the raw pools, build the workloads."""
    from psycopg_pool import AsyncConnectionPool, ConnectionPool

    from benchmarks import models
    from benchmarks.schema import load
    from benchmarks.workloads import Context, build_workloads
    from matrx_orm.core.config import DatabaseProjectConfig, register_database
    from matrx_orm.devdb import create_database, find_server

    info_server = find_server(models.DATABASE)
    print(f"server: {info_server.describe()}")
    created = create_database(info_server.config, dbname)
    base = {k: v for k, v in created.__dict__.items() if k not in ("name",)}
    base.update(min_pool_size=1, max_pool_size=10, prepare_threshold=threshold)
    config = register_database(DatabaseProjectConfig(name=models.DATABASE, **base))
    if info_server.source == "embedded":
        print("warning: no server answered on localhost (or DATABASE_URL); measuring on an embedded PostgreSQL")
    counts = load(config.conninfo())
    print("data: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # The raw pools are psycopg_pool's own classes with the settings the ORM
    # gives its pools (size, timeouts, autocommit, prepare_threshold): the
    # baseline pays nothing the ORM adds, not even its pool subclass.
    raw_pool = ConnectionPool(**_raw_pool_settings(config))
    raw_pool.open(wait=True)
    raw_apool = AsyncConnectionPool(**_raw_pool_settings(config))
    loop.run_until_complete(raw_apool.open(wait=True))
    admin = psycopg.connect(config.conninfo(), autocommit=True)

    aio_models = types.SimpleNamespace(BenchUser=models.BenchUser, BenchPost=models.BenchPost, BenchTag=models.BenchTag)
    sync_models = types.SimpleNamespace(SyncUser=models.SyncUser, SyncPost=models.SyncPost, SyncTag=models.SyncTag)
    ctx = Context(aio_models, sync_models, raw_apool, raw_pool, admin, loop)
    workloads = build_workloads(ctx, only=only)
    if peers != "none":
        from benchmarks.peers import add_peers

        wanted = None if peers == "auto" else [p.strip() for p in peers.split(",")]
        for line in add_peers(workloads, ctx, config, wanted):
            print(line)
    return Environment(
        loop=loop, ctx=ctx, workloads=workloads, config=config, counts=counts, admin=admin, server=info_server.describe()
    )


def close_environment(env: Environment) -> None:
    """Close every pool (ORM, raw, peers), the loop and the admin connection."""
    import matrx_orm
    import matrx_orm_sync
    from benchmarks.peers import close_peers

    loop = env.loop
    loop.run_until_complete(matrx_orm.close_pools())
    matrx_orm_sync.close_pools()
    env.ctx.raw_pool.close()
    loop.run_until_complete(env.ctx.raw_apool.close())
    close_peers(loop)
    # Let leftover tasks (the ORM's loop-exit guard) finish before closing the loop.
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    env.admin.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the process exit code."""
    args = _parse(argv)
    from benchmarks.harness import Runner, Settings, machine_description, summarize, write_results
    from benchmarks.workloads import WORKLOAD_KEYS

    if args.list:
        print("\n".join(WORKLOAD_KEYS))
        return 0
    settings = Settings()
    if args.quick:
        settings = Settings(rounds=5, slice_seconds=0.3, warmup_seconds=0.15)
    if args.rounds:
        settings.rounds = args.rounds
    if args.seconds:
        settings.slice_seconds = args.seconds
    only = [k.strip() for k in args.only.split(",")] if args.only else None
    threshold = None if args.prepare_threshold.lower() == "none" else int(args.prepare_threshold)

    env = open_environment(args.dbname, threshold, only=only, peers=args.peers)
    loop, workloads, counts, admin = env.loop, env.workloads, env.counts, env.admin

    server_version = admin.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    runner = Runner(loop, settings)
    try:
        outcomes = runner.run(workloads)
    finally:
        close_environment(env)

    info: dict[str, Any] = {
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": machine_description(),
        "server_version": server_version,
        "server": env.server,
        "python": platform.python_version(),
        "psycopg": psycopg.__version__,
        "psycopg_impl": psycopg.pq.__impl__,
        "rounds": settings.rounds,
        "slice_seconds": settings.slice_seconds,
        "prepare_threshold": threshold,
        "pool": "min 1 / max 10, autocommit",
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
        "data": counts,
    }
    summary = summarize(outcomes)
    _, md_path = write_results(summary, info, Path(args.out))
    print()
    print(md_path.read_text())
    print(f"written: {md_path} (and latest.json)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
