"""A rule's log: what it ends with, and what a job's start-up costs."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devfer.runlog import cpu_seconds, logged

USAGE = re.compile(r"resources: wall ([0-9.]+) s, cpu ([0-9.]+) s, peak memory ([0-9]+) MB")


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_log_ends_with_wall_cpu_and_memory(tmp_path: Path) -> None:
    path = tmp_path / "rule.log"
    before = cpu_seconds()
    with logged(path):
        busy(0.3)
    lines = path.read_text().strip().splitlines()
    found = USAGE.search(lines[-1])
    assert found, lines[-1]
    wall, cpu, peak = (float(g) for g in found.groups())
    assert wall >= 0.3
    # CPU counts the process since it started: at least what it had plus the busy loop.
    assert cpu >= before + 0.25
    assert peak > 10  # MB: a Python process with numpy and pandas loaded


def test_failed_block_logs_the_error_not_the_usage(tmp_path: Path) -> None:
    path = tmp_path / "rule.log"
    with pytest.raises(RuntimeError), logged(path):
        raise RuntimeError("boom")
    text = path.read_text()
    assert "stage failed" in text and "boom" in text
    assert not USAGE.search(text)


@pytest.mark.parametrize(
    ("module", "heavy"),
    [
        ("devfer.stats", "statsmodels"),  # names load on first use
        ("devfer.evaluate.stage", "statsmodels"),  # every evaluation job
        ("devfer.simulate.stage", "torch"),  # every simulate job
    ],
)
def test_job_modules_skip_what_they_never_use(module: str, heavy: str) -> None:
    code = f"import sys, {module}; print({heavy!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_stats_names_resolve_lazily_to_their_modules() -> None:
    import devfer.stats as stats

    for name in stats.__all__:
        assert getattr(stats, name).__module__.startswith("devfer.stats."), name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        stats.nope  # noqa: B018
