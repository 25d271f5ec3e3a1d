"""The SLURM profile on a real one-node SLURM cluster (issue 17): a small, real part of the
study (simulated infant faces, their manifest, face alignment in two shards, their ages)
runs through `snakemake --profile workflow/profiles/slurm`, every job through the scheduler.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import slurm_cluster
import yaml

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
TARGET = "results/ages/tif_sim.parquet"
RULES = {"simulate", "manifest", "faces_shard", "faces", "ages_predict"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = slurm_cluster.why_unavailable()
    if reason:
        pytest.skip(reason)
    slurm_cluster.install()
    running = slurm_cluster.start(tmp_path_factory.mktemp("slurm"))
    yield running
    running.stop()  # a yield fixture's teardown runs whether the tests pass or fail


def small_study(cpus: int) -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["simulation"]["datasets"]["tif_sim"].update(n_subjects=4, images_per_subject=2)
    cfg["faces"].update(size=32, shards=2, batch_size=8)
    # As a user sizes jobs for their cluster. ages_predict asks for two CPUs (one on a
    # one-CPU node); without --cores the old heavy_threads gave every cluster job one.
    cfg["resources"] = {
        "light": {"threads": 1, "mem_mb": 500, "runtime": 10},
        "faces": {"mem_mb": 1000, "runtime": 10},
        "ages": {"threads": min(2, cpus), "mem_mb": 1500, "runtime": 15},
    }
    return cfg


@pytest.fixture(scope="module")
def study(cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("study")
    (workdir / "config.yaml").write_text(yaml.safe_dump(small_study(cluster.cpus)))
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", TARGET, "-s", str(ROOT / "Snakefile"),
         "-d", str(workdir), "--configfile", str(workdir / "config.yaml"),
         "--profile", str(ROOT / "workflow" / "profiles" / "slurm"),
         # Check status soon after each submission; keep successful jobs' logs to look at.
         "--slurm-init-seconds-before-status-checks", "2",
         "--slurm-keep-successful-logs", "--latency-wait", "5"],
        cwd=workdir, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:] + "\n" + cluster.log_tail()
    return workdir, log


def submitted(log: str) -> dict[str, Path]:
    """SLURM job id -> its SLURM log, from Snakemake's log."""
    found = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.", log)
    return {job: Path(path) for job, path in found}


def test_every_job_went_through_the_scheduler(cluster, study) -> None:
    workdir, log = study
    ages = pd.read_parquet(workdir / TARGET)
    assert len(ages) == 8 and (ages["age_pred"] == 0.67).all()
    jobs = submitted(log)
    assert len(jobs) == 6, log[-3000:]  # simulate, manifest, 2 shards, gather, ages_predict
    for job, slurm_log in jobs.items():
        assert slurm_log.name == f"{job}.log" and slurm_log.exists()
    # squeue answered every status check: no fall back to sacct, which has no accounting here.
    assert "Falling back to 'sacct'" not in log
    # What the scheduler ran, as it saw it: rule in the comment, CPUs, time limit, memory.
    rows = cluster.run("squeue", "--states=all", "-h", "-o", "%i|%k|%T|%C|%l|%m").splitlines()
    seen = {}
    for row in rows:
        job, comment, state, cpus, limit, memory = row.split("|")
        if job in jobs:
            rule = re.sub(r"^rule_|_wildcards_.*$", "", comment)
            seen[job] = (rule, state, int(cpus), limit, memory)
    assert set(seen) == set(jobs)
    assert {rule for rule, *_ in seen.values()} == RULES
    assert {state for _, state, *_ in seen.values()} == {"COMPLETED"}
    for job, (rule, _, cpus, limit, memory) in seen.items():
        if rule == "ages_predict":  # from resources.ages, not from Snakemake's --cores
            assert (cpus, limit, memory) == (min(2, cluster.cpus), "15:00", "1500M")
            if cpus > 1:  # and the job itself ran with as many threads
                assert f"threads: {cpus}" in jobs[job].read_text()
        elif rule == "faces_shard":  # faces.threads; resources.faces
            assert (cpus, limit, memory) == (1, "10:00", "1000M")
        else:
            assert (cpus, limit, memory) == (1, "10:00", "500M")


def dry_run_jobs(workdir: Path, *extra: str) -> dict[str, set[tuple[int, str]]]:
    """rule -> its jobs' (threads, resources), as `snakemake -n` lists them."""
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
         "-n", "--cores", "8", *extra],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    jobs: dict[str, set[tuple[int, str]]] = {}
    for block in re.split(r"(?m)^(?=(?:local)?rule \w+:)", done.stdout + done.stderr)[1:]:
        rule = re.match(r"(?:local)?rule (\w+):", block).group(1)
        threads = re.search(r"(?m)^    threads: (\d+)", block)
        resources = re.search(r"(?m)^    resources: (.*)$", block)
        jobs.setdefault(rule, set()).add(
            (int(threads.group(1)) if threads else 1, resources.group(1) if resources else "")
        )
    return jobs


def test_locally_threads_follow_cores_and_cuda_asks_for_a_gpu(tmp_path: Path) -> None:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["models"]["device"] = cfg["ages"]["device"] = "cuda"
    (tmp_path / "cuda.yaml").write_text(yaml.safe_dump(cfg))
    jobs = dry_run_jobs(tmp_path, "--configfile", str(tmp_path / "cuda.yaml"))
    heavy = {"ages_train", "ages_predict", "ages_metrics", "train", "evaluate_predict",
             "evaluate_control"}  # fmt: skip
    assert heavy | {"faces_control", "simulate", "stats"} <= set(jobs)
    for rule, found in jobs.items():
        if rule == "all":
            continue
        for threads, resources in found:
            # A local run: the estimator's training takes every core of --cores, alone; other
            # training and inference jobs half of them each (resources.local_heavy_jobs 2), and
            # stats as many, as processes.
            shared = heavy | {"faces_control", "stats"}
            want = 8 if rule == "ages_train" else 4 if rule in shared else 1
            assert threads == want, rule
            assert "mem_mb=" in resources and "runtime=" in resources, rule
            assert ("gpu=1" in resources) == (rule in heavy), rule
