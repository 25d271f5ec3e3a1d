"""The Snakemake DAG end to end on a tiny simulated study, in a scratch directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from devfer.provenance import read_provenance

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]


def tiny_config() -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    sims = cfg["simulation"]["datasets"]
    sims["tif_sim"].update(n_subjects=6, images_per_subject=3)
    sims["affectnet_sim"].update(n_subjects=10, images_per_subject=2, unusable_share=0.2)
    sims["utkface_sim"].update(n_subjects=8)
    cfg["faces"].update(size=32, shards=2, batch_size=8)
    # The later stages at toy scale: the point is the DAG and the tables, not accuracy.
    cfg["ages"].update(model="resnet18", epochs=1, batch_size=16)
    for model in ("infant", "adult"):
        cfg["models"][model].update(epochs=2, batch_size=16)
    cfg["models"]["adult"]["age_groups"] = None  # too few simulated adults for a split
    cfg["models"]["grid"].update(lr=[0.001], dropout=[0.3, 0.5], weight_decay=[0.0], epochs=1)
    cfg["evaluation"] = {"n_boot": 20, "transition_boot": 5}
    return cfg


def run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, "-d", str(workdir), "--configfile", str(workdir / "config.yaml"), *args],
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("study")
    (workdir / "config.yaml").write_text(yaml.safe_dump(tiny_config()))
    done = run(workdir, "--cores", "2")
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir


def test_outputs_have_the_design_columns(study: Path) -> None:
    for name in ("tif_sim", "affectnet_sim", "utkface_sim"):
        manifest = pd.read_parquet(study / "results/manifests" / f"{name}.parquet")
        assert {"image_id", "dataset", "path", "subject_id", "label", "split", "age_true",
                "valence", "arousal"} <= set(manifest.columns)  # fmt: skip
        faces = pd.read_parquet(study / "results/faces" / f"{name}.parquet")
        assert faces["image_id"].tolist() == manifest["image_id"].tolist()
        assert {"status", "det_prob", "box_x1", "left_eye_x", "crop_index"} <= set(faces.columns)
        store = np.load(study / "results/faces" / f"{name}.npy", mmap_mode="r")
        assert store.shape == ((faces["crop_index"] >= 0).sum(), 32, 32, 3)
        assert (faces["status"] == "ok").mean() >= 0.95
        meta = read_provenance(study / "results/faces" / f"{name}.parquet")
        assert meta["versions"]["torch"] and meta["settings"]["size"] == 32


def test_simulation_truth_and_qc(study: Path) -> None:
    truth = pd.read_parquet(study / "results/simulation/truth.parquet")
    assert truth.loc[truth["age"] == 10.0, "w"].item() == pytest.approx(0.5)
    qc = pd.read_parquet(study / "results/qc/manifest/affectnet_sim.parquet")
    # 20 % of 20 rows are coded contempt / none / uncertain / no-face and dropped.
    assert qc["n"].sum() == 4
    assert set(qc["reason"]) == {
        "excluded_label:contempt", "excluded_label:none", "excluded_label:uncertain",
        "excluded_label:no-face",
    }  # fmt: skip
    tif = pd.read_parquet(study / "results/manifests/tif_sim.parquet")
    assert tif["subject_id"].nunique() == 6 and tif["label"].notna().all()
    assert (tif.groupby("subject_id")["split"].nunique() == 1).all()


def test_later_stage_tables(study: Path) -> None:
    ages = pd.read_parquet(study / "results/ages/affectnet_sim.parquet")
    groups = ["infant", "younger_child", "older_child", "teenager", "adult"]
    assert {"image_id", "age_pred", "age_group", *[f"p_{g}" for g in groups]} <= set(ages.columns)
    assert np.allclose(ages[[f"p_{g}" for g in groups]].sum(axis=1), 1.0, atol=1e-4)
    tif = pd.read_parquet(study / "results/ages/tif_sim.parquet")
    assert (tif["age_pred"] == 0.67).all() and (tif["age_source"] == "known").all()
    metrics = pd.read_parquet(study / "results/ages/estimator_metrics.parquet")
    assert {"mae", "group_accuracy", "confusion"} == set(metrics["metric"])
    for model in ("infant", "adult"):
        history = pd.read_parquet(study / f"results/models/{model}/seed2026/history.parquet")
        assert {"train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr", "seconds"} <= set(
            history.columns
        )
        predictions = pd.read_parquet(study / f"results/predictions/{model}.parquet")
        assert {"image_id", "age_group", "label", "pred", "p_happy", "eligible"} <= set(
            predictions.columns
        )
    cross = pd.read_parquet(study / "results/metrics/cross_group.parquet")
    want = {"model", "age_group", "n", "accuracy", "ci_low", "ci_high", "balanced_accuracy",
            "macro_f1", "kappa", "chance", "standardised_accuracy"}  # fmt: skip
    assert want <= set(cross.columns)
    transition = pd.read_parquet(study / "results/stats/transition.parquet")
    assert {"model", "estimate", "ci_low", "ci_high", "truth"} <= set(transition.columns)
    assert set(transition["model"]) == {"infant", "adult", "infant_vs_adult"}
    # Half adult-like where 0.3 + 0.7 w = 0.5: 10 + ln(0.4) / 0.8 = 8.8546 years.
    assert transition["truth"].to_numpy() == pytest.approx(8.8546, abs=1e-4)
    for name in ("accuracy_by_group", "confusion_matrices", "transition", "training_curves"):
        assert (study / "results/figures" / f"{name}.pdf").stat().st_size > 1000
        assert (study / "results/figures" / f"{name}.png").stat().st_size > 1000
    assert "|" in (study / "results/tables/cross_group.md").read_text()
    # Face shape vs expression: paired controls, the decomposition, and credible/note.
    assert {"curve", "credible", "note"} <= set(transition.columns)
    assert not transition.loc[transition["curve"] == "observed", "credible"].any()
    decomposition = pd.read_parquet(study / "results/stats/decomposition.parquet")
    assert set(decomposition["condition"]) == {"observed", "expression_off", "shape_off"}
    control = pd.read_parquet(study / "results/predictions/controls/shape_off/adult.parquet")
    assert set(control["image_id"]) <= set(predictions["image_id"])
    assert (study / "results/figures/decomposition.pdf").stat().st_size > 1000
    assert "Verdict" in (study / "results/tables/decomposition.md").read_text()


def dry_run(study: Path, cfg: dict, *extra: str) -> str:
    (study / "config-changed.yaml").write_text(yaml.safe_dump(cfg))
    done = subprocess.run(
        [*SNAKEMAKE, "-d", str(study), "--configfile", str(study / "config-changed.yaml"),
         "-n", "--cores", "2", *extra],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def test_each_scenario_is_a_config_change(study: Path) -> None:
    cfg = yaml.safe_load((study / "config.yaml").read_text())
    cfg["ages"]["source"] = "truth"
    out = dry_run(study, cfg)
    # True ages: the evaluation set's ages change, nothing is simulated or trained again.
    assert "ages_predict" in out and "simulate:" not in out and "rule train:" not in out
    cfg["ages"]["source"] = "estimator"
    cfg["simulation"]["expression_development"] = False
    out = dry_run(study, cfg)
    assert "rule simulate:" in out and "simulate_truth" in out
    cfg["simulation"]["expression_development"] = True
    cfg["simulation"]["controls"] = []
    out = dry_run(study, cfg, "--forceall")
    assert "simulate_control" not in out and "evaluate_control" not in out


def test_adult_lr_change_reruns_no_infant_job(study: Path) -> None:
    cfg = yaml.safe_load((study / "config.yaml").read_text())
    cfg["models"]["adult"]["lr"] = 0.0001
    out = dry_run(study, cfg)
    assert "model=adult" in out and "rule train:" in out
    assert "model=infant" not in out
    assert "ages_train" not in out and "faces_shard" not in out


def test_nested_keys_are_overridden_by_a_second_config_file(study: Path) -> None:
    # Snakemake rejects `--config models.adult.lr=...`; a second --configfile is merged key
    # by key into the first.
    (study / "override.yaml").write_text("models:\n  adult:\n    lr: 0.0001\n")
    done = subprocess.run(
        [*SNAKEMAKE, "-d", str(study), "-n", "--cores", "2", "--configfile",
         str(study / "config.yaml"), str(study / "override.yaml")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "model=adult" in out and "model=infant" not in out


def test_report_renders_tables_and_figures(study: Path) -> None:
    done = run(study, "--report", str(study / "report.html"))
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "Duplicate explicit target name" not in out
    assert (study / "report.html").stat().st_size > 100_000


def test_grid_fans_out_one_job_per_point(study: Path) -> None:
    cfg = yaml.safe_load((study / "config.yaml").read_text())
    out = dry_run(study, cfg, "grid_search")
    assert out.count("rule train_grid_point") == 4  # 2 models x (1 lr x 2 dropouts x 1 wd)
    # The switch: the infant model is retrained with the best grid point, the adult is not.
    cfg["models"]["infant"]["use_grid_best"] = True
    out = dry_run(study, cfg)
    assert "results/models/infant/grid.parquet" in out
    assert "model=adult, seed" not in out


def test_figures_rerun_alone(study: Path) -> None:
    cfg = yaml.safe_load((study / "config.yaml").read_text())
    # -R takes several values, so the target must come before it.
    out = dry_run(study, cfg, "figures", "-R", "figures")
    rules = {
        line.split()[-1].rstrip(":")
        for line in out.splitlines()
        if line.startswith(("rule ", "localrule "))
    }
    assert rules == {"figures"}, out[-3000:]


def test_local_heavy_jobs_share_the_cores_and_rerun_nothing(study: Path) -> None:
    cfg = yaml.safe_load((study / "config.yaml").read_text())
    out = dry_run(study, cfg, "-R", "train", "--cores", "8")
    # local_heavy_jobs 2: a training job takes 8 / 2 threads, so two run side by side, and
    # torch never more than half of this machine's cores.
    job = out.split("rule train:")[1].split("\n\n")[0]
    assert "threads: 4" in job, job
    assert f"torch_threads={max(1, min(4, (os.cpu_count() or 1) // 2))}," in job, job
    cfg["resources"]["local_heavy_jobs"] = 1
    assert "Nothing to be done" in dry_run(study, cfg)


def test_second_run_has_nothing_to_do(study: Path) -> None:
    dry = run(study, "-n", "--cores", "2")
    assert dry.returncode == 0
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_faces_setting_change_reruns_only_faces(study: Path) -> None:
    cfg = yaml.safe_load((study / "config.yaml").read_text())
    cfg["faces"]["min_prob"] = 0.8
    out = dry_run(study, cfg)
    assert "faces_shard" in out
    assert "simulate " not in out and "rule manifest" not in out


def test_config_typo_stops_before_any_job(tmp_path: Path) -> None:
    cfg = tiny_config()
    cfg["faces"]["shrads"] = 2
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    done = run(tmp_path, "-n", "--cores", "1")
    assert done.returncode != 0
    assert (
        "'faces.shrads' is not a known setting. Did you mean 'shards'?" in done.stdout + done.stderr
    )
    assert not (tmp_path / "results").exists()


# Runs the grid for real, so it goes last: the dry-run tests above expect no grid yet.
def test_grid_points_train_for_the_grid_epochs(study: Path) -> None:
    # The target goes before --configfile, which takes several values.
    done = subprocess.run(
        [*SNAKEMAKE, "grid_search", "-d", str(study), "--configfile", str(study / "config.yaml"),
         "--cores", "2"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for point in range(2):
        history = pd.read_parquet(study / f"results/models/infant/grid/{point}/history.parquet")
        assert len(history) == 1  # models.grid.epochs, not the model's own 2
    grid = pd.read_parquet(study / "results/models/infant/grid.parquet")
    assert len(grid) == 2 and grid["best"].sum() == 1


def test_fairness_audit_of_the_study_models(study: Path) -> None:
    done = subprocess.run(
        [*SNAKEMAKE, "fairness", "-d", str(study), "--configfile", str(study / "config.yaml"),
         "--cores", "2"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    per_group = pd.read_parquet(study / "results" / "metrics" / "fairness.parquet")
    gaps = pd.read_parquet(study / "results" / "metrics" / "fairness_gaps.parquet")
    assert set(per_group["model"]) == {"infant", "adult"}
    assert {"sex", "age_group"} <= set(gaps["attribute"])
    # A group's accuracy is its eligible faces' share correct, every seed pooled.
    predictions = pd.read_parquet(study / "results" / "predictions" / "adult.parquet")
    key = pd.concat(
        pd.read_parquet(p, columns=["image_id", "sex"])
        for p in (study / "results" / "simulation").glob("*_sim.parquet")
    ).drop_duplicates("image_id")
    eligible = predictions[predictions["eligible"]].merge(key, on="image_id")
    want = eligible.groupby("sex")["correct"].mean()
    row = per_group[(per_group["model"] == "adult") & (per_group["metric"] == "accuracy")
                    & (per_group["attribute"] == "sex")].set_index("group")["estimate"]  # fmt: skip
    assert row.to_dict() == pytest.approx(want.to_dict())
