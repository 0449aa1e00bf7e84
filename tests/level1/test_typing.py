"""``mypy --strict`` passes on both packages and on ``tests/typing/usage.py``, the API as a user's checker sees it.

``usage.py`` pins inferred types with ``assert_type`` (``User.filter(...).all()``
is ``list[User]``, ``first()`` is ``User | None``...) and marks mistakes the
checker must keep catching with ``# type: ignore[code]``: under ``--strict`` an
ignore that is no longer needed is itself an error, so loosened types fail here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)
def test_mypy_strict_passes_on_both_packages_and_the_usage_file():
    pytest.importorskip("mypy")
    # In a subprocess: mypy's in-process API raises the interpreter's GC thresholds
    # (gc.set_threshold(200000, ...)) for the rest of the test session, which hides
    # every reference cycle from the collector and changes what later tests see.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file", str(ROOT / "pyproject.toml"),
            "--cache-dir", str(ROOT / ".mypy_cache"),
            str(ROOT / "matrx_orm"),
            str(ROOT / "matrx_orm_sync"),
            str(ROOT / "tests" / "typing" / "usage.py"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")


def test_usage_file_still_checks_the_promised_types():
    text = (ROOT / "tests" / "typing" / "usage.py").read_text(encoding="utf-8")
    for promise in (
        "assert_type(await qs.all(), list[User])",
        "assert_type(await qs.first(), User | None)",
        "assert_type(await qs.values(\"id\", \"username\"), list[dict[str, Any]])",
        "assert_type(qs.first(), SyncUser | None)",
        "async for user in qs.iterator(chunk_size=500):",
    ):
        assert promise in text
    assert text.count("# type: ignore[") >= 4
