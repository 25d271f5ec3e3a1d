"""`snakemake comparison` end to end on a tiny simulated FER-2013 set (slow): one job per
backbone x fold, the tables a user opens, and the class-subset and RGB switches as config
changes alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def tiny(**comparison) -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["simulation"]["datasets"]["fer_sim"].update(n_subjects=30, images_per_subject=3)
    cfg["comparison"].update(
        backbones=["resnet18", "mobilenetv3_small_100"], folds=2, epochs=1, batch_size=16,
        n_boot=20, n_permutations=20, cost_repeats=3, cost_batch=8,
    )  # fmt: skip
    cfg["comparison"].update(comparison)
    return cfg


def snakemake(workdir: Path, cfg: dict, *args: str) -> str:
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "comparison", "-s", str(ROOT / "Snakefile"),
         "-d", str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", "2",
         *args],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    return out


def test_comparison_target(tmp_path: Path) -> None:
    out = snakemake(tmp_path, tiny())
    results = tmp_path / "results" / "comparison"
    # The study's own stages never ran: the comparison needs neither faces nor ages.
    assert "faces_shard" not in out and "ages_train" not in out
    runs = sorted(p.relative_to(results / "runs").as_posix() for p in results.glob("runs/*/*"))
    assert runs == [f"{b}/seed2026-fold{k}" for b in ("mobilenetv3_small_100", "resnet18")
                    for k in (0, 1)]  # fmt: skip
    predictions = pd.concat(pd.read_parquet(p) for p in results.glob("runs/*/*/predictions.*"))
    # With folds every face is tested once per backbone, and its subject never trained it.
    assert predictions.groupby("backbone")["image_id"].agg(lambda s: s.is_unique).all()
    assert predictions.groupby("backbone").size().nunique() == 1
    summary = pd.read_parquet(results / "summary.parquet")
    accuracy = summary[summary["metric"] == "accuracy"].set_index("backbone")
    assert (accuracy["n_replicates"] == 2).all() and accuracy["params"].gt(1e6).all()
    mean = predictions.groupby(["backbone", "replicate"])["correct"].mean().groupby("backbone")
    assert accuracy["mean"].to_dict() == pytest.approx(mean.mean().to_dict())
    fairness = pd.read_parquet(results / "fairness_gaps.parquet")
    assert set(fairness["attribute"]) == {"sex", "skin_tone", "age_group"}
    cost = pd.read_parquet(results / "cost.parquet")
    assert list(cost["backbone"]) == ["resnet18", "mobilenetv3_small_100"]
    for name in ("comparison_cost", "comparison_per_class", "comparison_fairness"):
        assert (tmp_path / "results" / "figures" / f"{name}.pdf").stat().st_size > 0
    assert "| resnet18" in (tmp_path / "results" / "tables" / "comparison.md").read_text()

    # Four classes and RGB on one backbone: config changes alone, re-running the runs.
    four = ["happy", "sad", "surprise", "neutral"]
    snakemake(tmp_path, tiny(classes=four, channels=3, backbones=["resnet18"]))
    run = pd.read_parquet(results / "runs" / "resnet18" / "seed2026-fold0" / "predictions.parquet")
    assert [c for c in run if c.startswith("p_")] == [f"p_{c}" for c in four]
    assert set(run["label"]) <= set(four)
    model = torch.load(results / "runs" / "resnet18" / "seed2026-fold0" / "model.pt")
    assert model["in_chans"] == 3 and model["state_dict"]["backbone.conv1.weight"].shape[1] == 3
    per_class = pd.read_parquet(results / "per_class.parquet")
    assert sorted(per_class["class"].unique()) == sorted(four)
