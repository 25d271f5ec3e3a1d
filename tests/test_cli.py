"""The `devfer` command runs every stage with the settings the rules pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from devfer.cli import build_parser, main
from devfer.provenance import read_provenance

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "config" / "config.yaml")
STAGE_COMMANDS = {
    "simulate", "truth", "manifest", "align", "gather", "ages-train", "ages-predict",
    "ages-metrics", "train", "evaluate-predict", "evaluate", "statistics", "histories", "figures",
    "control", "calibrate", "calibration", "compare-run", "compare-cost", "compare", "fairness",
    "evaluate-affect", "bundle", "predict",
}  # fmt: skip


def test_every_stage_has_a_command() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert STAGE_COMMANDS | {"check-config", "stats", "power", "live"} == set(sub.choices)


def test_help_runs_for_every_command() -> None:
    for name in STAGE_COMMANDS:
        with pytest.raises(SystemExit) as done:
            main([name, "--help"])
        assert done.value.code == 0


def test_truth_command_writes_the_true_transition(tmp_path: Path) -> None:
    assert main(["truth", "--config", CONFIG, "--results", str(tmp_path)]) == 0
    truth = pd.read_parquet(tmp_path / "simulation" / "truth.parquet")
    # Half adult-like where 0.3 + 0.7 w = 0.5: 10 + ln(0.4) / 0.8 = 8.8546 years.
    assert truth["transition_age"].iloc[0] == pytest.approx(8.8546, abs=1e-4)
    settings = read_provenance(tmp_path / "simulation" / "truth.parquet")["settings"]
    assert settings == {
        "midpoint": 10.0,
        "steepness": 0.8,
        "infant_similarity": 0.3,
        "expression_development": True,
    }


def test_simulate_then_manifest_in_the_results_layout(tmp_path: Path, monkeypatch) -> None:
    text = (ROOT / "config" / "config.yaml").read_text()
    (tmp_path / "config.yaml").write_text(text.replace("n_subjects: 100", "n_subjects: 3"))
    monkeypatch.chdir(tmp_path)  # simulated datasets live under ./results/simulation
    args = ["--config", "config.yaml", "--dataset", "tif_sim"]
    assert main(["simulate", *args]) == 0
    assert main(["manifest", *args]) == 0
    manifest = pd.read_parquet("results/manifests/tif_sim.parquet")
    # 3 subjects x 7 images, every one labelled, each subject in one split only.
    assert len(manifest) == 21 and manifest["label"].notna().all()
    assert (manifest.groupby("subject_id")["split"].nunique() == 1).all()
    assert Path("results/qc/manifest/tif_sim.parquet").is_file()


def test_unknown_model_is_a_usage_error(capsys) -> None:
    assert main(["train", "--config", CONFIG, "--model", "toddler"]) == 2
    assert "model 'toddler' is not in the config" in capsys.readouterr().err


def test_module_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devfer", "check-config", CONFIG], capture_output=True, text=True
    )
    assert done.returncode == 0 and "valid (4 datasets)" in done.stdout


def test_unknown_comparison_run_is_a_usage_error(capsys) -> None:
    args = ["compare-run", "--config", CONFIG, "--backbone", "resnet18", "--replicate", "seed1"]
    assert main(args) == 2
    assert "run 'seed1' is not in the config; its runs: seed2026-fold0" in capsys.readouterr().err
