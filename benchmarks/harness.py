"""Timing, pairing and reporting: how the workloads are measured.

The machine is small and shared, so absolute numbers drift; what is reported
is the **paired ratio**. In each round, the systems of one mode (raw psycopg,
matrx_orm, and any peer) take turns on the same workload in short blocks
(about 20 ms each, cycling until each has had its slice), so they see the
same background load; the ORM's rate is then divided by raw psycopg's rate
from the same round. The starting system alternates between rounds. The table
shows the median over rounds of each rate and of each ratio, with the ratio's
min-max.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.workloads import ORM, RAW, Impl, Workload

__all__ = ["Settings", "Runner", "render_markdown"]


@dataclass
class Settings:
    """How long to measure."""

    rounds: int = 7
    slice_seconds: float = 1.0  # per system, per mode, per round
    warmup_seconds: float = 0.3
    block_seconds: float = 0.02  # one turn of a system inside a slice
    min_ops: int = 3


@dataclass
class Outcome:
    """What one workload produced."""

    workload: Workload
    rates: dict[str, list[float]] = field(default_factory=dict)  # impl id -> rate per round
    sql_check: dict[str, str] = field(default_factory=dict)  # impl id -> "same" | "differs: ..." | "n/a"
    errors: dict[str, str] = field(default_factory=dict)  # impl id -> why it was dropped


def _time_sync(op: Callable[[int], Any], budget: float, start: int, min_ops: int) -> tuple[int, float]:
    perf = time.perf_counter
    i = start
    t0 = perf()
    deadline = t0 + budget
    while True:
        op(i)
        i += 1
        now = perf()
        if now >= deadline and i - start >= min_ops:
            return i - start, now - t0


async def _time_async(op: Callable[[int], Any], budget: float, start: int, min_ops: int) -> tuple[int, float]:
    perf = time.perf_counter
    i = start
    t0 = perf()
    deadline = t0 + budget
    while True:
        await op(i)
        i += 1
        now = perf()
        if now >= deadline and i - start >= min_ops:
            return i - start, now - t0


def _interleave_sync(
    ops: list[Callable[[int], Any]], starts: list[int], budget: float, block: float, min_ops: int
) -> tuple[list[int], list[float]]:
    """Run ``ops`` in turns of ``block`` seconds for about ``budget`` seconds in all; return (ops, seconds) each."""
    perf = time.perf_counter
    n = len(ops)
    done = [0] * n
    spent = [0.0] * n
    deadline = perf() + budget
    turn = 0
    while True:
        k = turn % n
        op, i = ops[k], starts[k] + done[k]
        t0 = perf()
        end = t0 + block
        count = 0
        while True:
            op(i + count)
            count += 1
            now = perf()
            if now >= end:
                break
        done[k] += count
        spent[k] += now - t0
        turn += 1
        if turn % n == 0 and now >= deadline and min(done) >= min_ops:
            return done, spent


async def _interleave_async(
    ops: list[Callable[[int], Any]], starts: list[int], budget: float, block: float, min_ops: int
) -> tuple[list[int], list[float]]:
    """Async twin of ``_interleave_sync``."""
    perf = time.perf_counter
    n = len(ops)
    done = [0] * n
    spent = [0.0] * n
    deadline = perf() + budget
    turn = 0
    while True:
        k = turn % n
        op, i = ops[k], starts[k] + done[k]
        t0 = perf()
        end = t0 + block
        count = 0
        while True:
            await op(i + count)
            count += 1
            now = perf()
            if now >= end:
                break
        done[k] += count
        spent[k] += now - t0
        turn += 1
        if turn % n == 0 and now >= deadline and min(done) >= min_ops:
            return done, spent


async def _call_async(op: Callable[[int], Any], i: int) -> Any:
    return await op(i)


class Runner:
    """Run workloads round by round on one event loop (async) and the main thread (sync)."""

    def __init__(self, loop: Any, settings: Settings, log: Callable[[str], None] = print) -> None:
        self.loop = loop
        self.settings = settings
        self.log = log
        self.counters: dict[tuple[str, str], int] = {}

    def call_once(self, impl: Impl, i: int) -> Any:
        """Run one operation of ``impl`` and return its result."""
        if impl.mode == "async":
            return self.loop.run_until_complete(_call_async(impl.op, i))
        return impl.op(i)

    def timed(self, workload: Workload, impl: Impl, budget: float) -> float:
        """Run ``impl`` for ``budget`` seconds; return its rate in workload units per second."""
        key = (workload.key, impl.id)
        start = self.counters.get(key, 0)
        gc.collect()
        if impl.mode == "async":
            ops, elapsed = self.loop.run_until_complete(_time_async(impl.op, budget, start, self.settings.min_ops))
        else:
            ops, elapsed = _time_sync(impl.op, budget, start, self.settings.min_ops)
        self.counters[key] = start + ops
        if workload.after_slice is not None:
            workload.after_slice()
        return ops * workload.per_op / elapsed

    def warm_up(self, workload: Workload, outcome: Outcome) -> None:
        """Check every implementation's result and SQL, then warm it up (prepared statements, pools)."""
        from matrx_orm.core.query_log import capture_queries

        if workload.prepare is not None:
            workload.prepare()
        raw_sql = {impl.mode: impl.sql for impl in workload.impls if impl.is_raw}
        for impl in list(workload.impls):
            try:
                if impl.is_raw:
                    result = self.call_once(impl, 0)
                    outcome.sql_check[impl.id] = "baseline"
                elif impl.system != ORM:
                    result = self.call_once(impl, 0)
                    outcome.sql_check[impl.id] = "n/a (peer)"
                else:
                    with capture_queries() as seen:
                        result = self.call_once(impl, 0)
                    expected = raw_sql.get(impl.mode)
                    if expected is None:
                        outcome.sql_check[impl.id] = f"n/a ({len(seen)} statements)"
                    elif list(seen) == list(expected):
                        outcome.sql_check[impl.id] = "same"
                    else:
                        outcome.sql_check[impl.id] = "differs: " + " ; ".join(seen[:3])
                if workload.check is not None:
                    problem = workload.check(result)
                    if problem:
                        raise AssertionError(problem)
                if workload.after_slice is not None:
                    workload.after_slice()
                self.timed(workload, impl, self.settings.warmup_seconds)
            except Exception as exc:  # a broken implementation is reported, not fatal
                outcome.errors[impl.id] = f"{type(exc).__name__}: {exc}"
                workload.impls.remove(impl)
                self.log(f"  ! {workload.key} {impl.id} dropped: {outcome.errors[impl.id]}")
            if workload.after_slice is not None:
                workload.after_slice()

    def interleaved(self, workload: Workload, impls: list[Impl], budget: float) -> list[float]:
        """Run ``impls`` (all of one mode) in alternating blocks; return each one's rate."""
        keys = [(workload.key, impl.id) for impl in impls]
        starts = [self.counters.get(key, 0) for key in keys]
        ops = [impl.op for impl in impls]
        s = self.settings
        gc.collect()
        if impls[0].mode == "async":
            done, spent = self.loop.run_until_complete(_interleave_async(ops, starts, budget, s.block_seconds, s.min_ops))
        else:
            done, spent = _interleave_sync(ops, starts, budget, s.block_seconds, s.min_ops)
        for key, start, count in zip(keys, starts, done):
            self.counters[key] = start + count
        if workload.after_slice is not None:
            workload.after_slice()
        return [count * workload.per_op / seconds for count, seconds in zip(done, spent)]

    def run(self, workloads: list[Workload]) -> list[Outcome]:
        """Warm up, then measure every workload for ``rounds`` rounds."""
        outcomes = [Outcome(w) for w in workloads]
        for w, outcome in zip(workloads, outcomes):
            if w.skipped:
                self.log(f"- {w.key}: skipped ({w.skipped})")
                continue
            self.log(f"- warm-up {w.key}")
            self.warm_up(w, outcome)
        for r in range(self.settings.rounds):
            self.log(f"round {r + 1}/{self.settings.rounds}")
            for w, outcome in zip(workloads, outcomes):
                if w.skipped or not w.impls:
                    continue
                order = _order(w.impls, r)
                for mode in dict.fromkeys(i.mode for i in order):
                    group = [i for i in order if i.mode == mode]
                    budget = self.settings.slice_seconds * w.slice_factor * len(group)
                    for impl, rate in zip(group, self.interleaved(w, group, budget)):
                        outcome.rates.setdefault(impl.id, []).append(rate)
        return outcomes


def _order(impls: list[Impl], round_index: int) -> list[Impl]:
    # Pairs stay adjacent in time (raw next to the ORM of the same mode), and
    # the order flips every round so neither side always goes first.
    modes = sorted({i.mode for i in impls}, reverse=round_index % 2 == 1)
    out: list[Impl] = []
    for mode in modes:
        group = [i for i in impls if i.mode == mode]
        group.sort(key=lambda i: (not i.is_raw, i.system))
        if round_index % 2 == 1:
            group.reverse()
        out.extend(group)
    return out


# ------------------------------------------------------------------------------------------ stats
def paired_ratios(outcome: Outcome, impl_id: str) -> list[float]:
    """Return the per-round ratio of ``impl_id``'s rate to raw psycopg's in the same mode."""
    mode = impl_id.rsplit("/", 1)[1]
    raw = outcome.rates.get(f"{RAW}/{mode}")
    mine = outcome.rates.get(impl_id)
    if not raw or not mine:
        return []
    return [m / r for m, r in zip(mine, raw) if r > 0]


def summarize(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Return one JSON-able summary per workload."""
    out = []
    for o in outcomes:
        w = o.workload
        entry: dict[str, Any] = {
            "key": w.key,
            "title": w.title,
            "unit": f"{w.unit}/s",
            "target": w.target,
            "note": w.note,
            "skipped": w.skipped,
            "errors": o.errors,
            "sql_check": o.sql_check,
            "systems": {},
        }
        for impl_id, rates in o.rates.items():
            ratios = [] if impl_id.startswith(RAW) else paired_ratios(o, impl_id)
            entry["systems"][impl_id] = {
                "median_rate": statistics.median(rates),
                "rates": rates,
                "ratio_median": statistics.median(ratios) if ratios else None,
                "ratio_min": min(ratios) if ratios else None,
                "ratio_max": max(ratios) if ratios else None,
                "ratios": ratios,
            }
        out.append(entry)
    return out


def _fmt_rate(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100_000:
        return f"{value / 1000:,.0f}k"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _fmt_ratio(sys: dict[str, Any] | None) -> str:
    if not sys or sys.get("ratio_median") is None:
        return "—"
    return f"**{sys['ratio_median']:.2f}** ({sys['ratio_min']:.2f}–{sys['ratio_max']:.2f})"


def render_markdown(summary: list[dict[str, Any]], info: dict[str, Any]) -> str:
    """Return the results as a markdown document (tables plus the run's context)."""
    lines = [
        f"Run {info['date']} — {info['machine']}; PostgreSQL {info['server_version']} ({info.get('server', '?')}); "
        f"Python {info['python']}; psycopg {info['psycopg']} ({info['psycopg_impl']}); "
        f"{info['rounds']} rounds x {info['slice_seconds']} s slices; command: `{info['command']}`",
        "",
        "| workload | unit | raw sync | matrx sync | ratio sync (min–max) | raw async | matrx async "
        "| ratio async (min–max) | target |",
        "|---|---|---:|---:|---|---:|---:|---|---:|",
    ]
    peers: list[str] = []
    for e in summary:
        if e["skipped"]:
            lines.append(f"| {e['title']} | — | skipped: {e['skipped']} | | | | | | {e['target']} |")
            continue
        s = e["systems"]
        rs, ms = s.get(f"{RAW}/sync"), s.get("matrx_orm/sync")
        ra, ma = s.get(f"{RAW}/async"), s.get("matrx_orm/async")
        lines.append(
            f"| {e['title']} | {e['unit']} | {_fmt_rate(rs and rs['median_rate'])} | {_fmt_rate(ms and ms['median_rate'])} "
            f"| {_fmt_ratio(ms)} | {_fmt_rate(ra and ra['median_rate'])} | {_fmt_rate(ma and ma['median_rate'])} "
            f"| {_fmt_ratio(ma)} | {e['target'] if e['target'] is not None else ''} |"
        )
        for impl_id, sysinfo in s.items():
            if impl_id.startswith(RAW) or impl_id.startswith("matrx_orm/"):
                continue
            peers.append(
                f"| {e['title']} | {impl_id} | {_fmt_rate(sysinfo['median_rate'])} | {_fmt_ratio(sysinfo)} |"
            )
    if peers:
        lines += ["", "Peers (ratio to raw psycopg of the same mode, same rounds):", "",
                  "| workload | system | rate | ratio (min–max) |", "|---|---|---:|---|", *peers]
    notes = [f"- {e['title']}: {e['note']}" for e in summary if e["note"]]
    problems = []
    for e in summary:
        for impl_id, msg in e["errors"].items():
            problems.append(f"- {e['title']} / {impl_id}: dropped ({msg})")
        for impl_id, check in e["sql_check"].items():
            if check.startswith("differs"):
                problems.append(f"- {e['title']} / {impl_id}: SQL {check}")
    if notes:
        lines += ["", "Notes:", *notes]
    if problems:
        lines += ["", "Problems:", *problems]
    return "\n".join(lines) + "\n"


def write_results(summary: list[dict[str, Any]], info: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``results-<stamp>.json``/``.md`` and ``latest.json``/``.md`` under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    payload = {"info": info, "workloads": summary}
    markdown = render_markdown(summary, info)
    paths = []
    for name in (f"results-{stamp}", "latest"):
        (out_dir / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))
        (out_dir / f"{name}.md").write_text(markdown)
        paths.append(out_dir / f"{name}.md")
    return out_dir / "latest.json", out_dir / "latest.md"


def machine_description() -> str:
    """Return ``"<cpus> cores, <os> <arch>"``."""
    import os

    return f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}"
