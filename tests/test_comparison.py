"""The model-zoo groundwork (issue 14): metrics checked against hand-computed numbers, the
subject bootstrap, the fairness audit, subject-grouped folds and the simulated FER-2013 set
read back by the real adapter. Small tables and a 20-image simulation keep this fast."""

from __future__ import annotations

import dataclasses
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from devfer import CLASSES
from devfer.comparison import (
    confusion_table,
    encode,
    fairness_audit,
    fold_split,
    per_class_report,
    replicate_summary,
    run_metrics,
    scalar_metrics,
    subject_folds,
)
from devfer.comparison.weighted import weighted_metrics
from devfer.config import settings
from devfer.config.validate import validate_config
from devfer.manifest.adapters import build_manifest
from devfer.simulate import SimulationSettings, simulate_dataset
from devfer.simulate.datasets import FER2013_CODE

# The hand-worked table: 3 classes, 8 images, 4 subjects (two images each).
#
#   image  true   pred   p(angry, happy, sad)   top p  correct
#     1    angry  angry  (0.85, 0.10, 0.05)     0.85   yes
#     2    angry  angry  (0.65, 0.30, 0.05)     0.65   yes
#     3    angry  happy  (0.30, 0.65, 0.05)     0.65   no
#     4    happy  happy  (0.10, 0.85, 0.05)     0.85   yes
#     5    happy  happy  (0.20, 0.75, 0.05)     0.75   yes
#     6    happy  happy  (0.30, 0.45, 0.25)     0.45   yes
#     7    sad    sad    (0.05, 0.20, 0.75)     0.75   yes
#     8    sad    angry  (0.50, 0.25, 0.25)     0.50   no
#
# Confusion (rows true, columns predicted; angry, happy, sad):
#   angry [2 1 0]   support 3
#   happy [0 3 0]   support 3
#   sad   [1 0 1]   support 2     predicted: angry 3, happy 4, sad 1; N = 8
#
# accuracy = (2 + 3 + 1) / 8 = 3/4
# recall = 2/3, 1, 1/2 -> macro (= balanced accuracy) = (2/3 + 1 + 1/2) / 3 = 13/18
# precision = 2/3, 3/4, 1/1 -> macro = (2/3 + 3/4 + 1) / 3 = 29/36
# F1 = 2 TP / (support + predicted) = 4/6, 6/7, 2/3 -> macro = (2/3 + 6/7 + 2/3) / 3 = 46/63
# weighted (by support 3, 3, 2 of 8): precision (3*2/3 + 3*3/4 + 2*1) / 8 = 25/32,
#   recall = accuracy = 3/4, F1 (3*2/3 + 3*6/7 + 2*2/3) / 8 = 31/42
# kappa: p_o = 6/8, p_e = (3*3 + 3*4 + 2*1) / 64 = 23/64 -> (48/64 - 23/64) / (41/64) = 25/41
# One-vs-rest ROC-AUC (pairs positive > negative, ties 1/2):
#   angry: positives 0.85, 0.65, 0.30 vs negatives 0.10, 0.20, 0.30, 0.05, 0.50:
#          5 + 5 + (3 + 1/2) = 13.5 of 15 = 9/10
#   happy: positives 0.85, 0.75, 0.45 vs 0.10, 0.30, 0.65, 0.20, 0.25: 5 + 5 + 4 = 14/15
#   sad:   positives 0.75, 0.25 vs 0.05 x5, 0.25: 6 + (5 + 1/2) = 11.5 of 12 = 23/24
#   macro = (9/10 + 14/15 + 23/24) / 3 = 67/72; weighted (3, 3, 2) = 89/96
# Average precision = sum over thresholds of (recall step) x precision there:
#   angry: ranked +(0.85) +(0.65) -(0.50) {+,-}(0.30): 1/3*1 + 1/3*1 + 1/3*3/5 = 13/15
#   happy: ranked +(0.85) +(0.75) -(0.65) +(0.45):     1/3*1 + 1/3*1 + 1/3*3/4 = 11/12
#   sad:   ranked +(0.75) {+,-}(0.25):                 1/2*1 + 1/2*2/3         = 5/6
#   macro = (13/15 + 11/12 + 5/6) / 3 = 157/180; weighted (3, 3, 2) = 421/480
# ECE, 15 bins ((b-1)/15, b/15]; no confidence sits on an edge:
#   bin (0.80, 0.87]: images 1, 4   correct 2, confidence 1.70 -> |2 - 1.70| = 0.30
#   bin (0.60, 0.67]: images 2, 3   correct 1, confidence 1.30 -> 0.30
#   bin (0.73, 0.80]: images 5, 7   correct 2, confidence 1.50 -> 0.50
#   bin (0.40, 0.47]: image 6       correct 1, confidence 0.45 -> 0.55
#   bin (0.47, 0.53]: image 8       correct 0, confidence 0.50 -> 0.50
#   ECE = (0.30 + 0.30 + 0.50 + 0.55 + 0.50) / 8 = 2.15 / 8 = 0.26875
HAND_CLASSES = ("angry", "happy", "sad")
HAND = pd.DataFrame(
    {
        "image_id": [f"i{k}" for k in range(1, 9)],
        "subject_id": ["s1", "s1", "s2", "s2", "s3", "s3", "s4", "s4"],
        "label": ["angry"] * 3 + ["happy"] * 3 + ["sad"] * 2,
        "pred": ["angry", "angry", "happy", "happy", "happy", "happy", "sad", "angry"],
        "p_angry": [0.85, 0.65, 0.30, 0.10, 0.20, 0.30, 0.05, 0.50],
        "p_happy": [0.10, 0.30, 0.65, 0.85, 0.75, 0.45, 0.20, 0.25],
        "p_sad": [0.05, 0.05, 0.05, 0.05, 0.05, 0.25, 0.75, 0.25],
    }
)
HAND_VALUES = {
    "accuracy": F(3, 4),
    "balanced_accuracy": F(13, 18),
    "precision_macro": F(29, 36),
    "recall_macro": F(13, 18),
    "f1_macro": F(46, 63),
    "precision_weighted": F(25, 32),
    "recall_weighted": F(3, 4),
    "f1_weighted": F(31, 42),
    "cohen_kappa": F(25, 41),
    "roc_auc_macro": F(67, 72),
    "roc_auc_weighted": F(89, 96),
    "average_precision_macro": F(157, 180),
    "average_precision_weighted": F(421, 480),
    "ece": F(215, 800),
}


def hand_proba(table: pd.DataFrame = HAND, classes=HAND_CLASSES) -> np.ndarray:
    return table[[f"p_{c}" for c in classes]].to_numpy()


def test_metrics_match_the_hand_computation() -> None:
    got = scalar_metrics(HAND["label"], HAND["pred"], HAND_CLASSES, hand_proba())
    assert list(got) == list(HAND_VALUES)
    for name, value in HAND_VALUES.items():
        assert got[name] == pytest.approx(float(value), abs=1e-12), name
    table = run_metrics(HAND, HAND_CLASSES, n_boot=50)
    estimates = dict(zip(table["metric"], table["estimate"], strict=True))
    assert estimates == pytest.approx({k: float(v) for k, v in HAND_VALUES.items()})
    assert (table["n_images"] == 8).all() and (table["n_subjects"] == 4).all()
    assert "15 equal-width bins" in table.set_index("metric").loc["ece", "note"]


def test_per_class_report_and_confusion_by_hand() -> None:
    report = per_class_report(HAND["label"], HAND["pred"], HAND_CLASSES, hand_proba())
    assert report["support"].tolist() == [3, 3, 2]
    assert report["n_predicted"].tolist() == [3, 4, 1]
    np.testing.assert_allclose(report["precision"], [2 / 3, 3 / 4, 1])
    np.testing.assert_allclose(report["recall"], [2 / 3, 1, 1 / 2])
    np.testing.assert_allclose(report["f1"], [2 / 3, 6 / 7, 2 / 3])
    np.testing.assert_allclose(report["roc_auc"], [9 / 10, 14 / 15, 23 / 24])
    np.testing.assert_allclose(report["average_precision"], [13 / 15, 11 / 12, 5 / 6])
    cm = confusion_table(HAND["label"], HAND["pred"], HAND_CLASSES)
    assert cm["n"].to_numpy().reshape(3, 3).tolist() == [[2, 1, 0], [0, 3, 0], [1, 0, 1]]
    sad = cm[cm["label"] == "sad"].set_index("pred")["share"]
    assert sad.to_dict() == {"angry": 0.5, "happy": 0.0, "sad": 0.5}


def test_a_class_absent_from_the_test_set_is_left_out_and_said_so() -> None:
    classes = (*HAND_CLASSES, "disgust")
    table = HAND.assign(p_disgust=0.0)
    got = scalar_metrics(table["label"], table["pred"], classes, hand_proba(table, classes))
    # Averages over the three present classes: the same numbers as without disgust.
    for name in ("precision_macro", "f1_macro", "roc_auc_macro", "average_precision_weighted"):
        assert got[name] == pytest.approx(float(HAND_VALUES[name])), name
    notes = run_metrics(table, classes, n_boot=20).set_index("metric")["note"]
    assert notes["roc_auc_macro"] == (
        "one-vs-rest over 3 of 4 classes; absent from the test set: disgust"
    )
    assert notes["f1_macro"].endswith("absent: disgust")
    report = per_class_report(table["label"], table["pred"], classes, hand_proba(table, classes))
    disgust = report.set_index("class").loc["disgust"]
    assert disgust["support"] == 0
    assert np.isnan(disgust[["precision", "recall", "f1", "roc_auc", "average_precision"]]).all()


def test_without_probabilities_the_probability_metrics_are_nan() -> None:
    table = run_metrics(HAND[["subject_id", "label", "pred"]], HAND_CLASSES, n_boot=20)
    by = table.set_index("metric")
    assert np.isnan(by.loc["roc_auc_macro", "estimate"]) and np.isnan(by.loc["ece", "ci_low"])
    assert by.loc["ece", "note"] == "no class probabilities in the prediction table"
    assert by.loc["accuracy", "estimate"] == 0.75
    with pytest.raises(ValueError, match="outside the classes"):
        run_metrics(HAND, ("angry", "happy"))


def random_table(rng: np.random.Generator, n: int, n_subjects: int) -> pd.DataFrame:
    """Seven classes, one never shown; probabilities rounded so that scores tie."""
    truth = rng.choice(CLASSES[:6], n)
    logits = rng.normal(size=(n, 7))
    logits[np.arange(n), [CLASSES.index(c) for c in truth]] += 1.5
    p = np.round(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), 2)
    p /= p.sum(1, keepdims=True)
    table = pd.DataFrame(
        {
            "subject_id": rng.integers(0, n_subjects, n).astype(str),
            "label": truth,
            "pred": np.asarray(CLASSES)[p.argmax(1)],
        }
    )
    for k, c in enumerate(CLASSES):
        table[f"p_{c}"] = p[:, k]
    return table


def test_the_resampling_engine_equals_scikit_learn(rng: np.random.Generator) -> None:
    table = random_table(rng, 200, 40)
    enc = encode(table, CLASSES)
    weights = rng.integers(0, 3, size=(4, len(table))).astype(float)
    fast = weighted_metrics(enc, weights)
    for r in range(len(weights)):
        rows = np.repeat(np.arange(len(table)), weights[r].astype(int))
        ref = scalar_metrics(
            table["label"].to_numpy()[rows],
            table["pred"].to_numpy()[rows],
            CLASSES,
            enc.proba[rows],
        )
        for name, value in ref.items():
            assert fast[name][r] == pytest.approx(value, abs=1e-12), name


def subject_table(rng: np.random.Generator, n_subjects: int, per: int = 4) -> pd.DataFrame:
    """Subjects with their own skill (correctness shared within a subject)."""
    skill = rng.uniform(0.3, 0.95, n_subjects)
    subject = np.repeat(np.arange(n_subjects), per)
    truth = rng.choice(["happy", "sad"], len(subject))
    correct = rng.random(len(subject)) < skill[subject]
    pred = np.where(correct, truth, np.where(truth == "happy", "sad", "happy"))
    p_happy = np.where(pred == "happy", 0.8, 0.2) + rng.uniform(-0.15, 0.15, len(subject))
    return pd.DataFrame(
        {
            "subject_id": subject.astype(str),
            "label": truth,
            "pred": pred,
            "p_happy": p_happy,
            "p_sad": 1 - p_happy,
        }
    )


def test_bootstrap_interval_holds_the_estimate_and_shrinks_with_subjects(
    rng: np.random.Generator,
) -> None:
    classes = ("happy", "sad")
    widths = []
    for n_subjects in (20, 320):
        table = run_metrics(subject_table(rng, n_subjects), classes, n_boot=400, seed=1)
        assert (table["ci_low"] <= table["estimate"]).all()
        assert (table["estimate"] <= table["ci_high"]).all()
        widths.append((table["ci_high"] - table["ci_low"]).to_numpy())
    # sqrt(16) = 4 times narrower in expectation; at least twice narrower for every metric.
    assert (widths[1] < widths[0] / 2).all()


def test_bootstrap_resamples_subjects_not_images(rng: np.random.Generator) -> None:
    classes = ("happy", "sad")
    one = subject_table(rng, 40, per=1)
    copies = pd.concat([one] * 5, ignore_index=True)  # five identical images per subject
    a = run_metrics(one, classes, n_boot=300, seed=2)
    b = run_metrics(copies, classes, n_boot=300, seed=2)
    # Copies of a subject's image add no evidence: the same interval.
    np.testing.assert_allclose(a[["ci_low", "ci_high"]], b[["ci_low", "ci_high"]])
    images = run_metrics(copies, classes, subject_col=None, n_boot=300, seed=2)
    acc = images.set_index("metric").loc["accuracy"]
    assert acc["ci_high"] - acc["ci_low"] < 0.6 * (a["ci_high"] - a["ci_low"])[0]


def test_replicate_summary_mean_and_sd() -> None:
    runs = pd.DataFrame(
        {
            "backbone": ["resnet18"] * 3 + ["mobilenetv3_small_100"],
            "seed": [0, 1, 2, 0],
            "metric": "accuracy",
            "estimate": [0.90, 0.92, 0.94, 0.80],
        }
    )
    out = replicate_summary(runs, ["backbone", "metric"]).set_index("backbone")
    # mean 0.92; SD sqrt((0.02^2 + 0 + 0.02^2) / 2) = 0.02.
    assert out.loc["resnet18", "mean"] == pytest.approx(0.92)
    assert out.loc["resnet18", "sd"] == pytest.approx(0.02)
    assert out.loc["resnet18", "n_replicates"] == 3
    assert np.isnan(out.loc["mobilenetv3_small_100", "sd"])


def audit_table(outcomes: dict[str, list[list[bool]]]) -> pd.DataFrame:
    """Per group, per subject, whether each image was right (happy/sad, true class happy)."""
    rows = []
    for group, subjects in outcomes.items():
        for s, images in enumerate(subjects):
            for right in images:
                rows.append(
                    {
                        "subject_id": f"{group}{s}",
                        "sex": group,
                        "label": "happy",
                        "pred": "happy" if right else "sad",
                    }
                )
    return pd.DataFrame(rows)


def test_fairness_gap_and_ratio_by_hand() -> None:
    # female: 2 subjects, 3 of 4 images right (3/4); male: 2 subjects, 1 of 4 right (1/4).
    table = audit_table(
        {"female": [[True, True], [True, False]], "male": [[False, False], [True, False]]}
    )
    per_group, gaps = fairness_audit(table, ["sex"], ("happy", "sad"), n_boot=50, n_permutations=9)
    acc = per_group[per_group["metric"] == "accuracy"].set_index("group")
    assert acc.loc["female", "estimate"] == 0.75 and acc.loc["male", "estimate"] == 0.25
    assert acc["n_subjects"].tolist() == [2, 2] and acc["n_images"].tolist() == [4, 4]
    gap = gaps.set_index("metric").loc["accuracy"]
    # gap = 3/4 - 1/4 = 1/2; ratio = (1/4) / (3/4) = 1/3.
    assert gap["gap"] == 0.5 and gap["ratio"] == pytest.approx(1 / 3)
    assert (gap["group_max"], gap["group_min"]) == ("female", "male")
    assert gap["n_permutations"] == 9 and 0 < gap["p_value"] <= 1


def test_permutation_test_p_is_one_for_identical_groups(rng: np.random.Generator) -> None:
    subjects = [[bool(x) for x in rng.random(3) < 0.6] for _ in range(10)]
    table = audit_table({"a": subjects, "b": subjects})  # every subject has a twin
    table.loc[::2, "label"] = "sad"  # both classes, so every metric is defined
    _, gaps = fairness_audit(table, ["sex"], ("happy", "sad"), n_boot=20, n_permutations=99)
    defined = gaps[gaps["gap"].notna()]
    assert len(defined) == 9  # the label metrics (no probabilities here)
    assert (defined["gap"].abs() < 1e-12).all()
    assert (defined["p_value"] == 1.0).all()


def test_permutation_test_p_is_small_for_a_large_gap(rng: np.random.Generator) -> None:
    right = [[True] * 3 for _ in range(20)]
    wrong = [[bool(x) for x in rng.random(3) < 0.2] for _ in range(20)]
    table = audit_table({"a": right, "b": wrong})
    _, gaps = fairness_audit(table, ["sex"], ("happy", "sad"), n_boot=20, n_permutations=199)
    acc = gaps.set_index("metric").loc["accuracy"]
    # No relabelling of 40 subjects into 20 + 20 comes near the observed gap: p = 1 / 200.
    assert acc["p_value"] == pytest.approx(1 / 200)
    assert "(1 + n)" in acc["note"]


def test_an_attribute_that_varies_within_a_subject_keeps_subjects_whole() -> None:
    table = audit_table({"child": [[True, True, False]], "adult": [[False, True]]})
    twins = table.assign(subject_id=lambda t: t["subject_id"] + "b")
    table = pd.concat([table, twins], ignore_index=True)
    table.loc[0, "sex"] = "adult"  # one image of child0 in another group
    per_group, gaps = fairness_audit(table, ["sex"], ("happy", "sad"), n_boot=10, n_permutations=9)
    counts = per_group[per_group["metric"] == "accuracy"].set_index("group")["n_images"]
    assert counts.to_dict() == {"adult": 4, "child": 6}
    assert "1 images took their subject's most frequent sex" in gaps["note"].iloc[0]


def folds_frame(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for s in range(60):
        label = CLASSES[s % 7]
        for j in range(int(rng.integers(1, 6))):
            rows.append({"image_id": f"x/{s}_{j}", "subject_id": f"s{s}", "label": label})
    for j in range(5):  # images without a subject are their own subject
        rows.append({"image_id": f"x/anon{j}", "subject_id": None, "label": "happy"})
    return pd.DataFrame(rows)


def test_subject_folds_keep_subjects_whole_and_are_stratified(rng: np.random.Generator) -> None:
    frame = folds_frame(rng)
    folds = subject_folds(frame, k=4, seed=3)
    assert folds.index.equals(frame.index) and set(folds) == {0, 1, 2, 3}
    known = frame["subject_id"].notna()
    assert (frame[known].assign(fold=folds).groupby("subject_id")["fold"].nunique() == 1).all()
    # About a quarter of each class's subjects per fold (8 or 9 subjects a class).
    per_class = frame[known].assign(fold=folds).drop_duplicates("subject_id")
    spread = per_class.groupby(["label", "fold"]).size().unstack(fill_value=0)
    assert (spread.max(axis=1) - spread.min(axis=1) <= 1).all()
    assert folds.equals(subject_folds(frame, k=4, seed=3))
    assert not folds.equals(subject_folds(frame, k=4, seed=4))
    with pytest.raises(ValueError, match="cannot fill"):
        subject_folds(frame.head(3), k=4, seed=0)


def test_a_folds_test_subjects_never_train_that_fold(rng: np.random.Generator) -> None:
    frame = folds_frame(rng)
    folds = subject_folds(frame, k=3, seed=0)
    unit = frame["subject_id"].fillna(frame["image_id"])
    for fold in range(3):
        split = fold_split(frame, folds, fold, val_share=0.2, seed=0)
        assert (split[folds == fold] == "test").all() and (split[folds != fold] != "test").all()
        members = {s: set(unit[split == s]) for s in ("train", "val", "test")}
        assert members["train"] and members["val"] and members["test"]
        assert not members["test"] & (members["train"] | members["val"])
        assert not members["train"] & members["val"]


def test_simulated_fer2013_reads_back_through_the_adapter(tmp_path: Path) -> None:
    cfg = validate_config(
        {
            "simulation": {
                "image_size": 64,
                "datasets": {
                    "fer": {"format": "fer2013", "n_subjects": 10, "images_per_subject": 2}
                },
            },
            "datasets": {"fer": {"format": "fer2013", "age_source": 25.0}},
        }
    )
    out = tmp_path / "fer"
    sim = settings.simulated_dataset(cfg, "fer")
    key = simulate_dataset("fer", sim, SimulationSettings(image_size=64), seed=1, out_dir=out)
    csv = pd.read_csv(out / "fer2013.csv")
    assert list(csv.columns) == ["emotion", "pixels", "Usage"] and len(csv) == 20
    # FER-2013's order: Training, then PublicTest, then PrivateTest (1 subject = 2 rows each).
    assert csv["Usage"].tolist() == ["Training"] * 16 + ["PublicTest"] * 2 + ["PrivateTest"] * 2
    assert {c: i for i, c in enumerate(CLASSES)} == FER2013_CODE  # FER's order is devfer's

    dataset = dataclasses.replace(settings.dataset(cfg, "fer"), root=str(out))
    manifest, qc = build_manifest(dataset, seed=0, image_cache=tmp_path / "cache")
    assert qc.empty and len(manifest) == 20
    joined = manifest.merge(key, on="image_id", suffixes=("", "_key"), validate="1:1")
    assert len(joined) == 20
    assert (joined["label"] == joined["expression"]).all()
    assert joined["subject_id"].isna().all()  # FER-2013 names no subjects ...
    assert joined["subject_id_key"].str.fullmatch(r"fer:fer\d{5}").all()  # ... the key does
    # Usage was dealt by subject: the adapter's test split (PrivateTest) shares no one.
    test_subjects = set(joined.loc[joined["split"] == "test", "subject_id_key"])
    assert len(test_subjects) == 1
    assert not test_subjects & set(joined.loc[joined["split"] != "test", "subject_id_key"])
    with Image.open(joined["path"].iloc[0]) as im:
        assert im.size == (48, 48) and im.mode == "L"
    # The key's landmarks are in the written 48 px images' coordinates.
    assert joined["left_eye_x"].between(0, 48).all() and joined["mouth_left_y"].lt(48).all()
