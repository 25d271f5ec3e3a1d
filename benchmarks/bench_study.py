"""The embedded study's wall time in units of this machine's speed, with the time per rule.

    python benchmarks/bench_study.py [--cores 8] [--keep DIR] [--target comparison]
        [--overlay SCENARIO.yaml] [--config-override KEY=VALUE ...]

These machines' speed varies up to 4x between days, so seconds alone compare nothing. The
unit (README "Benchmarks") is the time this machine needs for 10,000 training image-steps
of a plain torchvision ResNet-18 (7 classes, random 64x64 tensors, batch 32, Adam, all
cores). It is measured just before and just after the study, which runs from scratch
(`snakemake --cores N` in a fresh copy of Snakefile, workflow/, src/ and config/, nothing
cached), and the study's wall time is printed in units of their mean. Per rule: the jobs,
their summed seconds and the span from the first start to the last end (from Snakemake's
own metadata), so overlapping rules show, and the CPU seconds their logs report (a job's
seconds grow when more jobs than cores share the machine; its CPU seconds do not). CPU units
are CPU seconds / (unit x cores): their sum is the study's wall time if no core ever idled,
and the idle core-seconds at the end are what the schedule loses.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
import torchvision

ROOT = Path(__file__).resolve().parents[1]
UNIT_IMAGES = 10_000


def unit_seconds(images: int = UNIT_IMAGES, batch: int = 32) -> float:
    """Seconds for `images` training image-steps of a plain ResNet-18 at 64x64 (the unit)."""
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=7)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(batch, 3, 64, 64), torch.randint(0, 7, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(3):  # warm-up: allocator and kernels
        step()
    steps = max(1, round(images / batch))
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) * images / (steps * batch)


CPU_LINE = re.compile(r"resources: wall [0-9.]+ s, cpu ([0-9.]+) s")


def job_cpu(workdir: Path, logs: list[str]) -> float:
    """The CPU seconds a job's log reports (`devfer.runlog.usage`), NaN when it has none."""
    total = math.nan
    for name in logs:
        try:
            found = CPU_LINE.findall((workdir / name).read_text(errors="replace"))
        except OSError:
            continue
        if found:
            total = (0.0 if math.isnan(total) else total) + float(found[-1])
    return total


def rule_times(workdir: Path) -> dict[str, tuple[int, float, float, float, float]]:
    """Per rule: (jobs, summed seconds, first start, last end, summed CPU seconds), from
    .snakemake/metadata and the CPU line each job's log ends with."""
    jobs: dict[str, dict[Any, tuple[float, float, float]]] = defaultdict(dict)
    for path in (workdir / ".snakemake" / "metadata").glob("*"):
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if meta.get("starttime") and meta.get("endtime") and meta.get("rule"):
            # One job with several outputs writes one record per output (times differ in
            # the last digits): count the job once, by its hash, from first start to last end.
            key = meta.get("job_hash", meta["starttime"])
            s, e, _ = jobs[meta["rule"]].get(key, (math.inf, 0.0, 0.0))
            cpu = job_cpu(workdir, meta.get("log") or [])
            jobs[meta["rule"]][key] = (min(s, meta["starttime"]), max(e, meta["endtime"]), cpu)
    out = {}
    for rule, spans in jobs.items():
        starts, ends, cpus = zip(*spans.values(), strict=True)
        total = sum(e - s for s, e, _ in spans.values())
        out[rule] = (len(spans), total, min(starts), max(ends), float(sum(cpus)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=8)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    parser.add_argument("--config-override", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--overlay", type=Path, help="a YAML file merged over config/config.yaml (a scenario)"
    )
    parser.add_argument("--target", help="a workflow target instead of the study (comparison)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="devfer-study-"))
    work.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "src", "config"):
        src, dst = ROOT / name, work / name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    before = unit_seconds()
    print(f"unit before: {before:.1f} s", flush=True)
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
    if args.target:
        cmd.insert(3, args.target)
    if args.overlay:
        shutil.copy2(args.overlay, work / "overlay.yaml")
        cmd += ["--configfile", "config/config.yaml", "overlay.yaml"]
    if args.config_override:
        cmd += ["--config", *args.config_override]
    start = time.perf_counter()
    with open(work / "study.log", "w") as log:
        done = subprocess.run(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - start
    after = unit_seconds()
    unit = (before + after) / 2
    print(f"unit after: {after:.1f} s")
    if done.returncode:
        sys.exit(f"the study failed (exit {done.returncode}); see {work / 'study.log'}")
    times = rule_times(work)
    origin = min(t[2] for t in times.values())
    cores = os.cpu_count() or 1
    head = f"{'rule':<28}{'jobs':>5}{'sum s':>9}{'from s':>9}{'to s':>9}{'units':>7}"
    print(f"\n{head}{'cpu s':>9}{'cpu units':>10}")
    for rule, (n, total, first, last, cpu) in sorted(times.items(), key=lambda kv: kv[1][2]):
        row = f"{rule:<28}{n:>5}{total:>9.0f}{first - origin:>9.0f}{last - origin:>9.0f}"
        print(f"{row}{total / unit:>7.2f}{cpu:>9.0f}{cpu / unit / cores:>10.2f}")
    print(f"\nstudy wall time: {wall:.0f} s = {wall / unit:.2f} units (unit {unit:.1f} s)")
    # Summed job seconds count a job slowed by its neighbours as costing more; CPU seconds
    # do not, and what the cores could have done but did not is the schedule's loss.
    cpu = sum(t[4] for t in times.values() if not math.isnan(t[4]))
    idle = cores * wall - cpu
    print(
        f"CPU: {cpu:.0f} s of {cores} cores x {wall:.0f} s = {cpu / (cores * wall):.0%} busy; "
        f"{idle:.0f} core-seconds idle ({idle / unit / cores:.2f} units)"
    )
    print(f"outputs in {work}" if args.keep else "")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
