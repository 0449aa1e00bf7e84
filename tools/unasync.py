#!/usr/bin/env python3
"""Generate the sync twin ``matrx_orm_sync`` (and the sync tests) from the async sources.

Like psycopg's ``tools/async_to_sync.py``, this is a mechanical rewrite: it
removes ``async``/``await`` and renames names through one explicit, reviewed
map. It works on tokens, so comments, strings and layout are kept exactly.
Anything without a mechanical mirror goes through ``matrx_orm.core.compat_async``,
which maps to ``compat_sync`` with the same names and shapes.

Usage:
    python tools/unasync.py           # regenerate
    python tools/unasync.py --check   # fail (exit 1) when a generated file is stale
"""

from __future__ import annotations

import argparse
import io
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Async name -> sync name. Reviewed by hand: no implicit prefix rule.
NAME_MAP: dict[str, str] = {
    "AsyncConnectionPool": "ConnectionPool",
    "AsyncNullConnectionPool": "NullConnectionPool",
    "AsyncConnection": "Connection",
    "AsyncCursor": "Cursor",
    "AsyncServerCursor": "ServerCursor",
    "AsyncClientCursor": "ClientCursor",
    "AsyncPipeline": "Pipeline",
    "AsyncTransaction": "Transaction",
    "AsyncCopy": "Copy",
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
    "AsyncExitStack": "ExitStack",
    "asynccontextmanager": "contextmanager",
    "AbstractAsyncContextManager": "AbstractContextManager",
    "aclosing": "closing",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "StopAsyncIteration": "StopIteration",
    "anext": "next",
    "aclose": "close",
    "compat_async": "compat_sync",
    "models_async": "models_sync",
    "models_relations_async": "models_relations_sync",
    "spec_models_async": "spec_models_sync",
    "models_query_async": "models_query_sync",
    "models_cache_async": "models_cache_sync",
    "models_reliability_async": "models_reliability_sync",
    "reliability_tools_async": "reliability_tools_sync",
    "iscoroutinefunction": "isfunction",
}

#: Parts of matrx_orm that are shared or sync-only tooling, never mirrored.
SYNC_ONLY_DIRS = {"core", "testing"}
SYNC_ONLY_FILES = {"cli.py", "devdb.py", "demo.py", "doctor.py"}

#: Names that must never appear in a generated file.
FORBIDDEN = {"asyncio", "AsyncGenerator"}

HEADER = (
    "# WARNING: generated from {source} by tools/unasync.py -- do not edit.\n"
    "# Change the async source, then run: python tools/unasync.py\n"
)


def _targets() -> list[tuple[Path, Path, str]]:
    """Return (source, destination, package rename) for every generated file."""
    out: list[tuple[Path, Path, str]] = []
    src_pkg = ROOT / "matrx_orm"
    dst_pkg = ROOT / "matrx_orm_sync"
    for path in sorted(src_pkg.rglob("*.py")):
        rel = path.relative_to(src_pkg)
        if rel.parts[0] in SYNC_ONLY_DIRS or rel.as_posix() in SYNC_ONLY_FILES or "__pycache__" in rel.parts:
            continue
        out.append((path, dst_pkg / rel, "package"))
    src_tests = ROOT / "tests" / "level2" / "aio"
    dst_tests = ROOT / "tests" / "level2" / "sync"
    for path in sorted(src_tests.rglob("*.py")):
        rel = path.relative_to(src_tests)
        out.append((path, dst_tests / rel, "tests"))
    return out


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    for line in text.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    return offsets


def convert(source: str, origin: str) -> str:
    """Return the sync version of one async module's text."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    offsets = _line_offsets(source)

    def pos(point: tuple[int, int]) -> int:
        return offsets[point[0] - 1] + point[1]

    edits: list[tuple[int, int, str]] = []
    significant = [t for t in tokens if t.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE)]
    for index, tok in enumerate(significant):
        if tok.type != tokenize.NAME:
            continue
        nxt = significant[index + 1] if index + 1 < len(significant) else None
        prev = significant[index - 1] if index > 0 else None
        if tok.string == "async" and nxt is not None and nxt.string in ("def", "with", "for"):
            edits.append((pos(tok.start), pos(nxt.start), ""))
        elif tok.string == "await":
            end = pos(nxt.start) if nxt is not None else pos(tok.end)
            edits.append((pos(tok.start), end, ""))
        elif tok.string == "matrx_orm" and not (prev is not None and prev.string == "."):
            after = significant[index + 2] if index + 2 < len(significant) else None
            if nxt is not None and nxt.string == "." and after is not None and after.string == "core":
                continue
            edits.append((pos(tok.start), pos(tok.end), "matrx_orm_sync"))
        elif tok.string in NAME_MAP:
            edits.append((pos(tok.start), pos(tok.end), NAME_MAP[tok.string]))
        elif tok.string in FORBIDDEN:
            raise SystemExit(f"{origin}:{tok.start[0]}: {tok.string!r} has no sync mirror; use matrx_orm.core.compat_async")
    out = source
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    return HEADER.format(source=origin) + out


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or, with --check, verify) every generated file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a generated file differs")
    args = parser.parse_args(argv)
    stale: list[str] = []
    expected: set[Path] = set()
    for source, dest, _kind in _targets():
        expected.add(dest)
        text = convert(source.read_text(encoding="utf-8"), source.relative_to(ROOT).as_posix())
        current = dest.read_text(encoding="utf-8") if dest.exists() else None
        if current != text:
            stale.append(dest.relative_to(ROOT).as_posix())
            if not args.check:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(text, encoding="utf-8")
    # Generated files whose source is gone are stale too.
    for folder in (ROOT / "matrx_orm_sync", ROOT / "tests" / "level2" / "sync"):
        for path in folder.rglob("*.py") if folder.exists() else []:
            if "__pycache__" in path.parts or path in expected:
                continue
            if path.read_text(encoding="utf-8").startswith("# WARNING: generated"):
                stale.append(path.relative_to(ROOT).as_posix() + " (orphan)")
                if not args.check:
                    path.unlink()
    if args.check:
        if stale:
            print("matrx_orm_sync is stale; run: python tools/unasync.py", file=sys.stderr)
            for name in stale:
                print(f"  {name}", file=sys.stderr)
            return 1
        print("generated files are up to date")
        return 0
    for name in stale:
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
