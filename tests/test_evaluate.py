"""The evaluate stage: leakage guard, prediction tables and cross-group metrics.

Every expected number below is counted by hand from the small frames built here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from devfer import CLASSES
from devfer.evaluate.metrics import (
    common_images,
    composition,
    confusion,
    cross_group,
    reference_mix,
)
from devfer.evaluate.predictions import class_probabilities, eligibility, prediction_frame
from devfer.evaluate.settings import EvaluationSettings
from devfer.evaluate.stage import evaluate_models, scored_predictions
from devfer.layout import DatasetFiles, EvaluationData, evaluation_data, evaluation_inputs
from devfer.provenance import read_provenance
from devfer.stats.seeds import interval_scope

GROUPS = ["young", "middle", "old"]  # deliberately not alphabetical

# (image_id, subject_id, age_group, age, label): two subjects per group, except that two
# middle-group images have no subject id. Each group holds two happy and two sad faces.
IMAGES = [
    ("y1", "s1", "young", 2.0, "happy"),
    ("y2", "s1", "young", 2.0, "sad"),
    ("y3", "s2", "young", 3.0, "happy"),
    ("y4", "s2", "young", 3.0, "sad"),
    ("m1", "s3", "middle", 6.0, "happy"),
    ("m2", "s3", "middle", 6.0, "sad"),
    ("m3", None, "middle", 7.0, "happy"),
    ("m4", None, "middle", 9.0, "sad"),
    ("o1", "s5", "old", 15.0, "happy"),
    ("o2", "s5", "old", 15.0, "sad"),
    ("o3", "s6", "old", 16.0, "happy"),
    ("o4", "s6", "old", 16.0, "sad"),
]

# Which images each model x seed gets right (1) or wrong (0), in IMAGES order.
CORRECT = {
    ("A", 0): [1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1],
    ("A", 1): [1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1],
    ("B", 0): [0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0],
    ("B", 1): [0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0],
}


def predictions_frame(
    images=IMAGES, correct=CORRECT, wrong: str = "neutral", dataset: str = "sim"
) -> pd.DataFrame:
    """Prediction rows as predict_model writes them (plus model and seed); a wrong answer
    is always `wrong`."""
    rows = []
    for (model, seed), flags in correct.items():
        for (image, subject, group, age, label), ok in zip(images, flags, strict=True):
            rows.append(
                {
                    "model": model,
                    "seed": seed,
                    "image_id": image,
                    "dataset": dataset,
                    "subject_id": subject,
                    "age": age,
                    "age_group": group,
                    "label": label,
                    "pred": label if ok else wrong,
                    "correct": bool(ok),
                    "eligible": True,
                }
            )
    return pd.DataFrame(rows)


def one_group(labels, preds, subjects=None, group="young", model="A", seed=0) -> pd.DataFrame:
    """One model, one seed, one age group: a row per image."""
    n = len(labels)
    return pd.DataFrame(
        {
            "model": model,
            "seed": seed,
            "image_id": [f"i{k}" for k in range(n)],
            "dataset": "sim",
            "subject_id": subjects if subjects is not None else [f"s{k}" for k in range(n)],
            "age": 2.0,
            "age_group": group,
            "label": labels,
            "pred": preds,
            "correct": np.asarray(labels) == np.asarray(preds),
            "eligible": True,
        }
    )


# --- eligibility: the guard against train/test leakage ------------------------------------


def test_eligibility_excludes_used_images_and_every_image_of_their_subjects() -> None:
    rows = pd.DataFrame(
        {
            "image_id": ["a1", "a2", "b1", "c1", "n1", "n2"],
            "subject_id": ["A", "A", "B", "C", None, None],
        }
    )
    # a1 trained on: a1 and its subject's other image a2 are out. c1 validated on: out.
    # n1 (no subject) trained on: out, but n2 is not linked to it by a shared missing id.
    eligible = eligibility(rows, ["a1", "c1", "n1", "not-in-this-dataset"])
    assert eligible.tolist() == [False, False, True, False, False, True]
    assert eligible.dtype == bool


def test_eligibility_with_nothing_used_keeps_everything() -> None:
    rows = pd.DataFrame({"image_id": ["a", "b", "c"], "subject_id": ["S", None, "S"]})
    assert eligibility(rows, []).tolist() == [True, True, True]


def test_eligibility_with_nan_subjects_does_not_link_them() -> None:
    # Parquet round trips turn missing ids into None or NaN; neither links images.
    rows = pd.DataFrame({"image_id": ["x", "y", "z"], "subject_id": [np.nan, np.nan, "S"]})
    assert eligibility(rows, ["x"]).tolist() == [False, True, True]


# --- common_images, reference_mix ------------------------------------------------------------


def test_common_images_keeps_images_eligible_for_and_scored_by_every_model() -> None:
    df = predictions_frame()
    # y1 is ineligible for model B (one seed is enough to disqualify it) ...
    df.loc[(df["model"] == "B") & (df["image_id"] == "y1") & (df["seed"] == 1), "eligible"] = False
    # ... and o4 was never scored by model A.
    df = df[~((df["model"] == "A") & (df["image_id"] == "o4"))]
    kept = common_images(df)
    expected = sorted({i[0] for i in IMAGES} - {"y1", "o4"})
    assert sorted(kept["image_id"].unique()) == expected
    # Both models, both seeds, on the same 10 images: 2 x 2 x 10 rows.
    assert len(kept) == 40
    assert kept.groupby("model")["image_id"].nunique().to_dict() == {"A": 10, "B": 10}


def test_reference_mix_counts_each_image_once() -> None:
    # Three happy and one sad image, scored by two seeds of model A.
    df = predictions_frame(images=IMAGES[:4], correct={k: v[:4] for k, v in CORRECT.items()})
    df.loc[df["image_id"] == "y2", "label"] = "happy"  # y1, y2, y3 happy; y4 sad
    # Model B scored only y4 (as when each model keeps its own eligible images): counting
    # rows would give happy 6/10; counting images gives 3/4.
    df = df[(df["model"] == "A") | (df["image_id"] == "y4")]
    mix = reference_mix(df, "pooled")
    assert list(mix) == list(CLASSES)
    assert mix["happy"] == pytest.approx(0.75) and mix["sad"] == pytest.approx(0.25)
    assert sum(mix.values()) == pytest.approx(1.0)
    assert all(mix[c] == 0.0 for c in CLASSES if c not in ("happy", "sad"))
    uniform = reference_mix(df, "uniform")
    assert uniform == dict.fromkeys(CLASSES, pytest.approx(1 / 7))


# --- cross_group ---------------------------------------------------------------------------


def test_cross_group_counts_accuracy_and_seed_spread_by_hand() -> None:
    df = predictions_frame()
    # Rows in an order unlike GROUPS, and a group not asked for, which is left out.
    df = pd.concat([df.iloc[::-1], df.iloc[:4].assign(age_group="unlisted")], ignore_index=True)
    mix = reference_mix(df, "pooled")
    table, by_seed = cross_group(df, GROUPS, mix, n_boot=200, seed=0)

    assert table[["model", "age_group"]].values.tolist() == [
        [m, g] for m in ("A", "B") for g in GROUPS
    ]
    assert table["group_order"].tolist() == [0, 1, 2, 0, 1, 2]
    # n counts images, not images x seeds.
    assert table["n"].tolist() == [4] * 6 and table["n"].dtype.kind == "i"
    assert table["n_seeds"].tolist() == [2] * 6
    # Per-image correctness averaged over the two seeds, then over the four images.
    # A young: (1 + 1/2 + 1 + 0) / 4; B young: (0 + 0 + 1/2 + 0) / 4, etc.
    assert table["accuracy"].tolist() == pytest.approx([0.625, 0.25, 1.0, 0.125, 0.5, 0.625])
    assert table["chance"].tolist() == pytest.approx([1 / 7] * 6)
    assert table["age_mean"].tolist() == pytest.approx([2.5, 7.0, 15.5] * 2)

    # Per seed: A young 3/4 and 2/4; B old 3/4 and 2/4; the rest agree across seeds.
    seeds = by_seed.set_index(["model", "seed", "age_group"])["accuracy"]
    assert len(by_seed) == 12
    assert seeds[("A", 0, "young")] == 0.75 and seeds[("A", 1, "young")] == 0.5
    assert seeds[("B", 0, "young")] == 0.0 and seeds[("B", 1, "young")] == 0.25
    assert seeds[("B", 0, "old")] == 0.75 and seeds[("B", 1, "old")] == 0.5
    assert (by_seed["n"] == 4).all()
    # Seed-averaged accuracy equals the mean of the seeds' accuracies (same images each).
    mean_of_seeds = by_seed.groupby(["model", "age_group"])["accuracy"].mean()
    for _, row in table.iterrows():
        assert mean_of_seeds[(row["model"], row["age_group"])] == pytest.approx(row["accuracy"])
    # Between-seed SD (n - 1 denominator): two values 1/4 apart -> 0.25 / sqrt(2).
    spread = 0.25 / math.sqrt(2)
    assert table["accuracy_sd"].tolist() == pytest.approx([spread, 0, 0, spread, 0, spread])


def test_cross_group_with_one_seed_has_no_seed_sd() -> None:
    df = predictions_frame(correct={("A", 0): CORRECT[("A", 0)]})
    table, by_seed = cross_group(df, GROUPS, reference_mix(df, "pooled"), n_boot=50)
    assert table["n_seeds"].tolist() == [1, 1, 1]
    assert table["accuracy_sd"].isna().all()
    assert table["accuracy"].tolist() == pytest.approx([0.75, 0.25, 1.0])
    assert by_seed["accuracy"].tolist() == pytest.approx([0.75, 0.25, 1.0])


def test_cross_group_balanced_accuracy_f1_kappa_by_hand() -> None:
    # Three happy faces (two called happy, one sad) and one sad face (called sad).
    df = one_group(["happy", "happy", "happy", "sad"], ["happy", "happy", "sad", "sad"])
    table, by_seed = cross_group(df, ["young"], reference_mix(df, "pooled"), n_boot=200)
    row = table.iloc[0]
    assert row["accuracy"] == pytest.approx(3 / 4)
    # Recall: happy 2/3, sad 1 -> balanced accuracy 5/6.
    assert row["recall_happy"] == pytest.approx(2 / 3) and row["recall_sad"] == 1.0
    assert math.isnan(row["recall_angry"])  # no angry face: recall undefined
    assert row["balanced_accuracy"] == pytest.approx(5 / 6)
    # F1 happy = 2*2 / (2*2 + 0 + 1) = 4/5; F1 sad = 2*1 / (2*1 + 1 + 0) = 2/3.
    assert row["macro_f1"] == pytest.approx((4 / 5 + 2 / 3) / 2)
    # p_o = 3/4; rows (3, 1), columns (2, 2): p_e = (3*2 + 1*2) / 16 = 1/2; kappa = 1/2.
    assert row["kappa"] == pytest.approx(0.5)
    assert by_seed.iloc[0]["kappa"] == pytest.approx(0.5)


def test_standardised_accuracy_equals_accuracy_when_the_mix_is_the_reference() -> None:
    df = predictions_frame()
    mix = reference_mix(df, "pooled")  # half happy, half sad, like every group
    assert mix["happy"] == mix["sad"] == 0.5
    table, by_seed = cross_group(df, GROUPS, mix, n_boot=50)
    assert table["standardised_accuracy"].tolist() == pytest.approx(table["accuracy"].tolist())
    assert by_seed["standardised_accuracy"].tolist() == pytest.approx(by_seed["accuracy"].tolist())


def test_standardised_accuracy_reweights_a_group_with_another_mix() -> None:
    # Accuracy 3/4, but to a uniform mix over the present classes: (2/3 + 1) / 2 = 5/6.
    df = one_group(["happy", "happy", "happy", "sad"], ["happy", "happy", "sad", "sad"])
    uniform, _ = cross_group(df, ["young"], reference_mix(df, "uniform"), n_boot=50)
    assert uniform.iloc[0]["standardised_accuracy"] == pytest.approx(5 / 6)
    own, _ = cross_group(df, ["young"], reference_mix(df, "pooled"), n_boot=50)
    assert own.iloc[0]["standardised_accuracy"] == pytest.approx(3 / 4)


def test_cross_group_interval_is_a_subject_bootstrap_by_hand() -> None:
    df = predictions_frame()
    table, _ = cross_group(df, GROUPS, reference_mix(df, "pooled"), n_boot=400, seed=7)
    a_young = table.iloc[0]
    # A young: subject s1 contributes (1 + 1/2) over 2 images, s2 (1 + 0) over 2. A resample
    # of two subjects gives 3/4 (s1 twice, p = 1/4), 5/8 or 1/2 (s2 twice, p = 1/4): the
    # 2.5 % and 97.5 % quantiles are exactly 1/2 and 3/4. The two seeds score 3/4 and 2/4:
    # SD 0.177, so the seeds' t interval for their mean has half-width t(1) * 0.177 / sqrt(2),
    # added in quadrature to the bootstrap's half-width of 1/8 on each side.
    half = math.hypot(0.125, stats.t.ppf(0.975, 1) * np.std([0.75, 0.5], ddof=1) / math.sqrt(2))
    assert a_young["ci_low"] == pytest.approx(max(0.0, 0.625 - half))
    assert a_young["ci_high"] == pytest.approx(min(1.0, 0.625 + half))
    assert a_young["ci_method"] == f"subject bootstrap (400 resamples); {interval_scope(2)}"
    one_seed, _ = cross_group(df[df["seed"] == 0], GROUPS, reference_mix(df, "pooled"), 400, 7)
    assert "training variance not included (1 trained seed" in one_seed["ci_method"].iloc[0]
    assert (table["ci_low"] <= table["accuracy"]).all()
    assert (table["accuracy"] <= table["ci_high"]).all()
    again, _ = cross_group(df, GROUPS, reference_mix(df, "pooled"), n_boot=400, seed=7)
    assert again[["ci_low", "ci_high"]].equals(table[["ci_low", "ci_high"]])


def test_images_without_subject_are_their_own_clusters_in_the_bootstrap() -> None:
    labels = ["happy"] * 8
    preds = ["happy"] * 4 + ["sad"] * 4
    # Two subjects, one always right, one always wrong: resamples give 0, 1/2 or 1, each
    # extreme with probability 1/4, so the interval is (0, 1).
    two = one_group(labels, preds, subjects=["a"] * 4 + ["b"] * 4)
    t2, _ = cross_group(two, ["young"], reference_mix(two, "pooled"), n_boot=500, seed=1)
    assert (t2.iloc[0]["ci_low"], t2.iloc[0]["ci_high"]) == (0.0, 1.0)
    # No subject ids: eight independent images, an ordinary bootstrap of 4/8. All-wrong or
    # all-right resamples have probability 1/256 each, so the interval is inside (0, 1) and
    # around 1/2. Were the missing ids one cluster, it would collapse to (1/2, 1/2).
    none = one_group(labels, preds, subjects=[None] * 8)
    t0, _ = cross_group(none, ["young"], reference_mix(none, "pooled"), n_boot=500, seed=1)
    lo, hi = t0.iloc[0]["ci_low"], t0.iloc[0]["ci_high"]
    assert 0.0 < lo < 0.5 < hi < 1.0
    assert lo >= 0.125 and hi <= 0.875  # within +-3 images of 4/8


# --- confusion and composition ---------------------------------------------------------------


def test_confusion_counts_and_row_shares_by_hand() -> None:
    df = one_group(["happy", "happy", "happy", "sad"], ["happy", "happy", "sad", "sad"])
    groups = ["young", "old"]  # "old" has no images; alphabetically it would come first
    table = confusion(df, groups)
    assert len(table) == 1 * 2 * 7 * 7  # every model x group x true x predicted class
    assert list(dict.fromkeys(table["age_group"])) == groups
    assert table.groupby("age_group")["group_order"].first().to_dict() == {"young": 0, "old": 1}
    cell = table.set_index(["age_group", "label", "pred"]).sort_index()
    assert cell.loc[("young", "happy", "happy"), "n"] == 2
    assert cell.loc[("young", "happy", "sad"), "n"] == 1
    assert cell.loc[("young", "sad", "sad"), "n"] == 1
    assert table["n"].sum() == 4
    assert cell.loc[("young", "happy", "happy"), "share"] == pytest.approx(2 / 3)
    assert cell.loc[("young", "happy", "sad"), "share"] == pytest.approx(1 / 3)
    assert cell.loc[("young", "happy", "angry"), "share"] == 0.0
    assert cell.loc[("young", "sad", "sad"), "share"] == 1.0
    # No angry faces, and no faces at all in "old": shares undefined, not zero.
    assert cell.loc[("young", "angry"), "share"].isna().all()
    assert cell.loc["old", "share"].isna().all() and (cell.loc["old", "n"] == 0).all()


def test_confusion_two_models_seeds_pooled() -> None:
    df = predictions_frame()
    table = confusion(df, GROUPS)
    assert len(table) == 2 * 3 * 49
    cell = table.set_index(["model", "age_group", "label", "pred"])["n"]
    # Model A, young, both seeds: happy faces y1, y3 right in both seeds -> 4; sad faces
    # y2 right in seed 0 only, y4 never -> sad->sad 1, sad->neutral 3.
    assert cell[("A", "young", "happy", "happy")] == 4
    assert cell[("A", "young", "sad", "sad")] == 1
    assert cell[("A", "young", "sad", "neutral")] == 3
    assert table.groupby(["model", "age_group"])["n"].sum().tolist() == [8] * 6


def test_composition_counts_each_image_once_per_dataset_and_group() -> None:
    df = pd.concat(
        [
            predictions_frame(dataset="tif"),
            predictions_frame(
                images=[("u1", "x", "old", 30.0, "angry"), ("u2", "y", "teen", 14.0, "fear")],
                correct={("A", 0): [1, 0], ("B", 0): [0, 1]},
                dataset="utk",
            ),
        ],
        ignore_index=True,
    )
    table = composition(df, GROUPS).sort_values(["dataset", "group_order", "label"])
    # The unlisted "teen" group is left out; each image counted once over models and seeds.
    assert table[["dataset", "age_group", "group_order", "label", "n"]].values.tolist() == [
        ["tif", "young", 0, "happy", 2],
        ["tif", "young", 0, "sad", 2],
        ["tif", "middle", 1, "happy", 2],
        ["tif", "middle", 1, "sad", 2],
        ["tif", "old", 2, "happy", 2],
        ["tif", "old", 2, "sad", 2],
        ["utk", "old", 2, "angry", 1],
    ]


# --- files ------------------------------------------------------------------------------


def test_evaluation_inputs_round_trip_by_name_in_the_given_order() -> None:
    inputs = evaluation_inputs(["tif", "utk"])
    assert len(inputs) == 8
    assert inputs["tif__faces"] == "results/faces/tif.parquet"
    assert inputs["tif__manifest"] == "results/manifests/tif.parquet"
    assert inputs["utk__store"] == "results/faces/utk.npy"
    assert inputs["utk__ages"] == "results/ages/utk.parquet"
    files = ("faces", "manifest", "store", "ages")
    assert sorted(inputs) == sorted(f"{d}__{f}" for d in ("tif", "utk") for f in files)
    # Snakemake may hand the named inputs back in any order; the datasets list decides.
    shuffled = dict(reversed(list(inputs.items())))
    back = evaluation_data(shuffled, ["utk", "tif"])
    assert back == [
        EvaluationData(
            files=DatasetFiles(
                faces=f"results/faces/{d}.parquet",
                manifest=f"results/manifests/{d}.parquet",
                store=f"results/faces/{d}.npy",
            ),
            ages=f"results/ages/{d}.parquet",
        )
        for d in ("utk", "tif")
    ]
    with pytest.raises(KeyError):
        evaluation_data(inputs, ["affectnet"])


# --- prediction_frame and class_probabilities ------------------------------------------------


def evaluation_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "image_id": ["a", "b", "c"],
            "dataset": "sim",
            "subject_id": ["s1", None, "s2"],
            "age_pred": [2.5, 7, 30],
            "age_group": ["young", "middle", "old"],
            "label": ["happy", "sad", "angry"],
            "crop_index": [0, 1, 2],
        }
    )


def test_prediction_frame_columns_argmax_and_correct_flag() -> None:
    probs = np.full((3, 7), 0.05)
    probs[0, CLASSES.index("happy")] = 0.7  # right
    probs[1, CLASSES.index("neutral")] = 0.7  # wrong: a sad face called neutral
    probs[2, CLASSES.index("angry")] = 0.7  # right
    eligible = np.array([True, False, True])
    out = prediction_frame(evaluation_rows(), probs, eligible)
    design = ["image_id", "age_group", "label", "pred"] + [f"p_{c}" for c in CLASSES]
    assert set(design) <= set(out.columns)
    assert [c for c in out.columns if c.startswith("p_")] == [f"p_{c}" for c in CLASSES]
    assert out["image_id"].tolist() == ["a", "b", "c"]
    assert out["pred"].tolist() == ["happy", "neutral", "angry"]
    assert out["correct"].tolist() == [True, False, True]
    assert out["eligible"].tolist() == [True, False, True]
    assert out["age"].tolist() == [2.5, 7.0, 30.0] and out["age"].dtype == float
    np.testing.assert_array_equal(out[[f"p_{c}" for c in CLASSES]].to_numpy(), probs)


def test_prediction_frame_of_no_images_has_the_same_columns() -> None:
    rows = evaluation_rows().iloc[:0]
    out = prediction_frame(rows, np.zeros((0, 7)), np.zeros(0, dtype=bool))
    full = prediction_frame(evaluation_rows(), np.eye(7)[:3], np.ones(3, dtype=bool))
    assert len(out) == 0 and list(out.columns) == list(full.columns)


def test_class_probabilities_of_a_tiny_expression_net() -> None:
    from devfer.data import normalise, to_float
    from devfer.train.expression import ExpressionNet

    torch.manual_seed(0)
    model = ExpressionNet("test_resnet", len(CLASSES), dropout=0.5)  # random weights
    images = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    one = class_probabilities(model, images, batch_size=1)
    many = class_probabilities(model, images, batch_size=128)
    assert one.shape == (5, 7)
    np.testing.assert_allclose(one.sum(axis=1), 1.0, atol=1e-6)
    assert (one >= 0).all()
    # The batch size changes nothing (eval mode: no dropout, BatchNorm on running stats).
    np.testing.assert_allclose(one, many, atol=1e-6)
    # The same as the model's softmax on the normalised [0, 1] images, done by hand.
    with torch.no_grad():
        model.eval()
        _, logits = model(normalise(to_float(images)))
        expected = torch.softmax(logits, dim=1).numpy()
    np.testing.assert_allclose(many, expected, atol=1e-6)
    assert class_probabilities(model, images[:0]).shape == (0, 7)


# --- stage: scored_predictions and evaluate_models -------------------------------------------


def write_predictions(tmp_path: Path) -> list[str]:
    df = predictions_frame()
    # m1 was used to train model B (seed 1): no model is scored on it when images are common.
    df.loc[(df["model"] == "B") & (df["seed"] == 1) & (df["image_id"] == "m1"), "eligible"] = False
    paths = []
    for model, part in df.groupby("model"):
        path = tmp_path / f"{model}.parquet"
        part.to_parquet(path, index=False)
        paths.append(str(path))
    return paths


def settings(**kw) -> EvaluationSettings:
    return EvaluationSettings(
        seed=0, groups=tuple(GROUPS), boundaries=(4.0, 12.0), n_boot=200, **kw
    )


def test_scored_predictions_common_or_each_models_own(tmp_path: Path) -> None:
    paths = write_predictions(tmp_path)
    common = scored_predictions(settings(), paths)
    assert "m1" not in set(common["image_id"])
    assert len(common) == 2 * 2 * 11
    own = scored_predictions(settings(common_images=False), paths)
    # Only B seed 1's row for m1 goes: A keeps m1 in both seeds, B in seed 0.
    assert len(own) == 2 * 2 * 12 - 1
    assert (own["image_id"] == "m1").sum() == 3 and own["eligible"].all()


def test_evaluate_models_writes_the_four_tables(tmp_path: Path) -> None:
    paths = write_predictions(tmp_path)
    out = {k: tmp_path / "metrics" / f"{k}.parquet" for k in ("cg", "seed", "conf", "comp")}
    evaluate_models(
        settings=settings(),
        predictions=paths,
        cross_group_out=str(out["cg"]),
        by_seed_out=str(out["seed"]),
        confusion_out=str(out["conf"]),
        composition_out=str(out["comp"]),
    )
    cg = pd.read_parquet(out["cg"])
    for column in ("n", "accuracy", "ci_low", "ci_high", "balanced_accuracy", "macro_f1", "kappa"):
        assert column in cg.columns
    assert cg[["model", "age_group"]].values.tolist() == [[m, g] for m in "AB" for g in GROUPS]
    # m1 is dropped for both models: middle has 3 images. A middle: m2..m4 all wrong -> 0;
    # B middle: m2 right in both seeds, m3, m4 wrong -> 1/3.
    assert cg["n"].tolist() == [4, 3, 4, 4, 3, 4]
    assert cg["accuracy"].tolist() == pytest.approx([0.625, 0.0, 1.0, 0.125, 1 / 3, 0.625])
    assert (cg["reference_mix"] == "pooled").all()
    assert read_provenance(out["cg"])["stage"] == "evaluate"
    assert len(pd.read_parquet(out["seed"])) == 2 * 2 * 3
    conf = pd.read_parquet(out["conf"])
    assert len(conf) == 2 * 3 * 49 and conf["n"].sum() == 2 * 2 * 11
    comp = pd.read_parquet(out["comp"])
    assert comp["n"].sum() == 11
