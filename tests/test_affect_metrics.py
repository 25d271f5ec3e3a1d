from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from devfer.evaluate.affect import (
    COLUMNS,
    METRICS,
    _cluster_sums,
    _from_sums,
    _interval,
    _resample_counts,
    affect_metrics,
    ccc,
    mae,
    pearson,
    rmse,
    sagr,
)

FUNCTIONS = {"rmse": rmse, "mae": mae, "pearson": pearson, "sagr": sagr, "ccc": ccc}

# ---------------------------------------------------------------- the metrics by hand

# pred [1, 2, 3], true [1, 2, 4]: errors (0, 0, -1).
PRED, TRUE = [1.0, 2.0, 3.0], [1.0, 2.0, 4.0]


def test_rmse_and_mae_by_hand() -> None:
    assert rmse(PRED, TRUE) == pytest.approx(math.sqrt(1 / 3))  # sqrt((0 + 0 + 1) / 3)
    assert mae(PRED, TRUE) == pytest.approx(1 / 3)  # (0 + 0 + 1) / 3


def test_pearson_by_hand() -> None:
    # mean p = 2, mean t = 7/3; var p = 2/3, var t = (16 + 1 + 25)/27 = 14/9,
    # cov = (1 * 4/3 + 0 + 1 * 5/3) / 3 = 1; r = 1 / sqrt(2/3 * 14/9) = sqrt(27/28).
    assert pearson(PRED, TRUE) == pytest.approx(math.sqrt(27 / 28), abs=1e-12)


def test_ccc_by_hand() -> None:
    # 2 cov / (var p + var t + (2 - 7/3)^2) = 2 / (6/9 + 14/9 + 1/9) = 2 / (7/3) = 6/7.
    assert ccc(PRED, TRUE) == pytest.approx(6 / 7, abs=1e-12)


def test_sagr_by_hand_with_zero_its_own_sign() -> None:
    # signs p (0, +, -, +), t (0, -, -, 0): agree at 0 = 0 and - = -, not + vs 0.
    assert sagr([0.0, 1.0, -1.0, 0.5], [0.0, -1.0, -1.0, 0.0]) == pytest.approx(0.5)
    assert sagr([0.0], [0.1]) == 0.0
    assert sagr(PRED, TRUE) == 1.0


def test_against_scipy_and_sklearn() -> None:
    rng = np.random.default_rng(3)
    t = rng.uniform(-1, 1, 200)
    p = 0.7 * t + rng.normal(0, 0.3, 200)
    assert pearson(p, t) == pytest.approx(sps.pearsonr(p, t).statistic, abs=1e-12)
    assert rmse(p, t) == pytest.approx(root_mean_squared_error(t, p), abs=1e-12)
    assert mae(p, t) == pytest.approx(mean_absolute_error(t, p), abs=1e-12)
    # CCC with population moments, straight from Lin's formula.
    cov = np.cov(p, t, ddof=0)
    expected = 2 * cov[0, 1] / (cov[0, 0] + cov[1, 1] + (p.mean() - t.mean()) ** 2)
    assert ccc(p, t) == pytest.approx(expected, abs=1e-12)


def test_ccc_equals_pearson_when_means_and_variances_match_and_drops_with_bias() -> None:
    t = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    p = np.array([2.0, 1.0, 3.0, 5.0, 4.0])  # a permutation: same mean and variance
    assert ccc(p, t) == pytest.approx(pearson(p, t), abs=1e-12)
    assert pearson(p + 1, t) == pytest.approx(pearson(p, t), abs=1e-12)
    assert ccc(p + 1, t) < ccc(p, t)
    assert ccc(2 * p, t) < ccc(p, t)  # a scale change too


def test_degenerate_inputs() -> None:
    t = [0.1, 0.5, -0.3, 0.2]
    constant = [0.1, 0.1, 0.1, 0.1]
    assert ccc(constant, t) == 0.0  # cov 0, var t > 0
    assert ccc(constant, [0.3] * 4) == 0.0  # both constant, means differ: 0 / (0.2^2)
    assert math.isnan(ccc(constant, constant))  # 0 / 0
    assert math.isnan(pearson(constant, t))
    assert math.isnan(pearson(t, constant))
    assert math.isnan(pearson([1.0, 2.0], [1.0, 3.0]))  # n < 3
    assert ccc([1.0, 2.0], [1.0, 3.0]) == pytest.approx(2 * 0.5 / (0.25 + 1 + 0.25))
    assert math.isnan(ccc([1.0], [2.0]))  # n < 2
    for f in FUNCTIONS.values():
        assert math.isnan(f([], []))
        assert math.isnan(f([np.nan], [1.0]))


def test_nan_pairs_are_dropped() -> None:
    p = [1.0, np.nan, 2.0, 3.0, 9.0]
    t = [1.0, 5.0, 2.0, 4.0, np.nan]
    for name, f in FUNCTIONS.items():
        assert f(p, t) == pytest.approx(f(PRED, TRUE), abs=1e-12), name


def test_inputs_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="1-D of one length"):
        rmse([1.0, 2.0], [1.0])


# ---------------------------------------------------------------- sums and the bootstrap


def test_sums_give_the_same_metrics_as_the_functions() -> None:
    rng = np.random.default_rng(5)
    t = rng.uniform(-1, 1, 50)
    for p in (t + rng.normal(0, 0.3, 50), np.full(50, 0.37), t.copy()):
        sums = _cluster_sums(p, t, np.zeros(50, dtype=int), 1)[0]
        got = _from_sums(sums)
        for m in METRICS:
            want = FUNCTIONS[m](p, t)
            assert np.asarray(got[m]) == pytest.approx(want, abs=1e-10, nan_ok=True), m


def test_bootstrap_by_sums_equals_one_explicit_resample() -> None:
    rng = np.random.default_rng(7)
    clusters = np.repeat(np.arange(6), [1, 2, 3, 1, 4, 2])  # 13 images of 6 subjects
    t = rng.uniform(-1, 1, clusters.size)
    p = 0.5 * t + rng.normal(0, 0.4, clusters.size)
    counts = _resample_counts(6, 4, np.random.default_rng(11))
    assert counts.shape == (4, 6)
    assert (counts.sum(axis=1) == 6).all()
    draw = counts[0]
    by_sums = _from_sums(draw.astype(float) @ _cluster_sums(p, t, clusters, 6))
    # The same resample written out: each subject's images repeated as often as it was drawn.
    rows = np.concatenate([np.flatnonzero(clusters == g).repeat(k) for g, k in enumerate(draw)])
    for m in METRICS:
        want = FUNCTIONS[m](p[rows], t[rows])
        assert np.asarray(by_sums[m]) == pytest.approx(want, abs=1e-10, nan_ok=True), m


def test_interval_needs_half_the_resamples() -> None:
    assert _interval(np.array([1.0, 2.0, 3.0, np.nan]), 0.5) == pytest.approx((1.5, 2.5))
    assert all(math.isnan(x) for x in _interval(np.array([1.0, np.nan, np.nan]), 0.95))


# ---------------------------------------------------------------- affect_metrics


def small_table() -> pd.DataFrame:
    """Two seeds; group "young" has annotations t = (1, 2, 3, 4), an unannotated image, and
    an image without a subject; seed 0 predicts t + 1, seed 1 predicts t; truth is t - 0.5.
    Group "old" has three images. A second model has no predictions."""
    young = pd.DataFrame(
        {
            "image_id": ["a1", "a2", "b1", "c1", "x1"],
            "subject_id": ["A", "A", "B", None, "B"],
            "age_group": "young",
            "valence": [1.0, 2.0, 3.0, 4.0, np.nan],
            "valence_truth": [0.5, 1.5, 2.5, 3.5, 0.0],
        }
    )
    old = pd.DataFrame(
        {
            "image_id": ["d1", "e1", "f1"],
            "subject_id": ["D", "E", "F"],
            "age_group": "old",
            "valence": [-1.0, 0.0, 1.0],
            "valence_truth": [-1.0, 0.0, 1.0],
        }
    )
    images = pd.concat([young, old], ignore_index=True)
    parts = []
    for s, shift in ((0, 1.0), (1, 0.0)):
        parts.append(images.assign(model="m", seed=s, valence_pred=images["valence"] + shift))
    parts.append(images.assign(model="none", seed=0, valence_pred=np.nan))
    out = pd.concat(parts, ignore_index=True)
    out["arousal"] = np.nan
    out["arousal_pred"] = 0.0
    return out


def test_affect_metrics_seed_mean_sd_and_ceiling() -> None:
    table = affect_metrics(small_table(), ["young", "middle", "old"], n_boot=50)
    assert list(table.columns) == list(COLUMNS)
    assert set(table["model"]) == {"m"}  # no predictions, no rows
    assert set(table["dimension"]) == {"valence"}  # no annotated arousal
    assert list(table["age_group"].unique()) == ["young", "old", "all"]  # "middle" is empty
    young = table[table["age_group"] == "young"].set_index("metric")
    assert (young["n_images"] == 4).all()  # x1 has no annotation
    assert (young["n_subjects"] == 3).all()  # A, B and c1 on its own
    assert (young["n_seeds"] == 2).all()
    # Seed 0 (t + 1): rmse 1, mae 1, r 1, sagr 1, ccc 2 * 1.25 / (2.5 + 1) = 5/7.
    # Seed 1 (t): rmse 0, mae 0, r 1, sagr 1, ccc 1.
    per_seed = {
        "rmse": (1.0, 0.0),
        "mae": (1.0, 0.0),
        "pearson": (1.0, 1.0),
        "sagr": (1.0, 1.0),
        "ccc": (5 / 7, 1.0),
    }
    for m, (a, b) in per_seed.items():
        assert young.loc[m, "value"] == pytest.approx((a + b) / 2, abs=1e-12), m
        assert young.loc[m, "seed_sd"] == pytest.approx(abs(a - b) / math.sqrt(2), abs=1e-12), m
    # Truth t - 0.5 against t: rmse = mae = 0.5, r 1, every sign positive (sagr 1),
    # ccc = 2 * 1.25 / (2.5 + 0.25) = 10/11.
    ceiling = {"rmse": 0.5, "mae": 0.5, "pearson": 1.0, "sagr": 1.0, "ccc": 10 / 11}
    for m, want in ceiling.items():
        assert young.loc[m, "ceiling"] == pytest.approx(want, abs=1e-12), m


def test_affect_metrics_pooled_group_is_all_groups_together() -> None:
    frame = small_table()
    table = affect_metrics(frame, ["young", "old"], n_boot=0)
    pooled = table[table["age_group"] == "all"].set_index("metric")
    assert (pooled["n_images"] == 7).all()
    assert (pooled["n_subjects"] == 6).all()
    used = frame[(frame["model"] == "m") & frame["valence"].notna()]
    for m, f in FUNCTIONS.items():
        seeds = [f(g["valence_pred"], g["valence"]) for _, g in used.groupby("seed")]
        assert pooled.loc[m, "value"] == pytest.approx(np.mean(seeds), abs=1e-12), m
    assert table[["ci_low", "ci_high"]].isna().all().all()  # n_boot = 0


def test_affect_metrics_one_seed_no_truth_one_subject() -> None:
    frame = small_table()
    frame = frame[(frame["seed"] == 0) & (frame["model"] == "m")].drop(
        columns=["seed", "valence_truth"]
    )
    frame["subject_id"] = "same person"
    table = affect_metrics(frame, ["young", "old"], n_boot=20)
    assert (table["n_seeds"] == 1).all()
    assert table["seed_sd"].isna().all()
    assert table["ceiling"].isna().all()
    assert table[["ci_low", "ci_high"]].isna().all().all()  # one subject: no interval


def random_table(n_subjects: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3 * n_subjects
    subject = np.repeat(np.arange(n_subjects), 3)
    person = rng.normal(0, 0.3, n_subjects)[subject]  # images of one person are alike
    t = np.clip(rng.uniform(-0.8, 0.8, n) + person, -1, 1)
    parts = []
    for s in range(2):
        parts.append(
            pd.DataFrame(
                {
                    "model": "m",
                    "seed": s,
                    "image_id": np.arange(n),
                    "subject_id": subject,
                    "age_group": "g",
                    "valence": t,
                    "valence_pred": 0.7 * t + rng.normal(0, 0.25, n),
                    "arousal": -t,
                    "arousal_pred": -0.6 * t + rng.normal(0, 0.3, n),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_affect_metrics_intervals_hold_the_value_narrow_with_subjects_and_repeat() -> None:
    small = affect_metrics(random_table(30, 1), ["g"], n_boot=200, seed=4)
    large = affect_metrics(random_table(600, 1), ["g"], n_boot=200, seed=4)
    for table in (small, large):
        assert (table["ci_low"] <= table["value"]).all()
        assert (table["value"] <= table["ci_high"]).all()
    assert ((large["ci_high"] - large["ci_low"]) < (small["ci_high"] - small["ci_low"])).all()
    again = affect_metrics(random_table(30, 1), ["g"], n_boot=200, seed=4)
    pd.testing.assert_frame_equal(small, again)
    other = affect_metrics(random_table(30, 1), ["g"], n_boot=200, seed=5)
    assert not np.allclose(other["ci_low"], small["ci_low"])


def test_affect_metrics_refuses_a_group_named_all() -> None:
    with pytest.raises(ValueError, match="pooled group"):
        affect_metrics(small_table(), ["young", "all"])
