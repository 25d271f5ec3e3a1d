"""Face shape vs expression in the statistics: the decomposition's numbers derived by hand, and
`credible` on constructed tables (issue 12)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from devfer.stats.credibility import EFFECT_CURVE, NO_CONTROLS, OBSERVED_CURVE, judge
from devfer.stats.decomposition import (
    change_decomposition,
    effect_transitions,
    group_decomposition,
    paired_table,
)

GROUPS = ["young", "old"]


def _predictions(model: str, correct: list[int], groups: list[str]) -> pd.DataFrame:
    n = len(correct)
    return pd.DataFrame(
        {
            "model": model,
            "image_id": [f"i{k}" for k in range(n)],
            "seed": 1,
            "age": [2.0 if g == "young" else 30.0 for g in groups],
            "age_group": groups,
            "subject_id": [f"s{k}" for k in range(n)],
            "dataset": "sim",
            "correct": np.array(correct, dtype=bool),
        }
    )


def _study(k: int = 1) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """10k young and 10k old faces. Observed: 2/10 young, 6/10 old right. Expression off (only
    face shape left): 4/10 young, 6/10 old. Shape off (only expression left): 4/10 and 6/10."""
    groups = ["young"] * 10 * k + ["old"] * 10 * k
    observed = ([1] * 2 + [0] * 8) * k + ([1] * 6 + [0] * 4) * k
    control = ([1] * 4 + [0] * 6) * k + ([1] * 6 + [0] * 4) * k
    return _predictions("adult", observed, groups), {
        "expression_off": _predictions("adult", control, groups),
        "shape_off": _predictions("adult", control, groups),
    }


def test_group_decomposition_is_the_paired_difference_of_accuracies() -> None:
    observed, controls = _study()
    table = group_decomposition(paired_table(observed, controls), GROUPS, n_boot=200)
    cell = table.set_index(["age_group", "quantity", "condition"])["value"]
    assert cell[("young", "accuracy", "observed")] == pytest.approx(0.2)
    assert cell[("young", "accuracy", "expression_off")] == pytest.approx(0.4)
    assert cell[("young", "effect", "expression_off")] == pytest.approx(-0.2)
    assert cell[("old", "effect", "expression_off")] == pytest.approx(0.0)
    assert (table["n"] == 10).all()
    lows, highs = table["ci_low"], table["ci_high"]
    assert (lows <= table["value"] + 1e-12).all() and (table["value"] <= highs + 1e-12).all()


def test_change_decomposition_splits_the_change_by_hand() -> None:
    observed, controls = _study()
    table = change_decomposition(paired_table(observed, controls), GROUPS, n_boot=200)
    by = table.set_index("control")
    # Observed +0.4 from young to old; with expression off (face shape only) +0.2: face shape
    # +0.2, expression development the other +0.2, a share of one half each.
    row = by.loc["expression_off"]
    assert row["observed_change"] == pytest.approx(0.4)
    assert row["shape_change"] == pytest.approx(0.2)
    assert row["expression_change"] == pytest.approx(0.2)
    assert row["share_shape"] == pytest.approx(0.5)
    # With shape off (expression only) +0.2: expression +0.2 and face shape the rest.
    row = by.loc["shape_off"]
    assert row["expression_change"] == pytest.approx(0.2)
    assert row["shape_change"] == pytest.approx(0.2)


def test_identical_control_means_no_expression_effect() -> None:
    observed, _ = _study(k=5)
    table = change_decomposition(
        paired_table(observed, {"expression_off": observed.copy()}), GROUPS, n_boot=200
    )
    row = table.iloc[0]
    assert row["expression_change"] == 0.0
    assert row["expression_ci_low"] == 0.0 and row["expression_ci_high"] == 0.0
    assert row["verdict"].startswith("face shape only")


def _transitions(**overrides) -> pd.DataFrame:
    row = {
        "model": "adult",
        "curve": EFFECT_CURVE,
        "estimate": 9.0,
        "ci_low": 7.5,
        "ci_high": 10.5,
        "at_bound": False,
        "note": "",
    }
    row.update(overrides)
    return pd.DataFrame([row])


def _changes(shape: tuple[float, float], expression: tuple[float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model": "adult",
                "control": "expression_off",
                "from_group": "young",
                "to_group": "old",
                "observed_change": 0.4,
                "shape_change": sum(shape) / 2,
                "shape_ci_low": shape[0],
                "shape_ci_high": shape[1],
                "expression_change": sum(expression) / 2,
                "expression_ci_low": expression[0],
                "expression_ci_high": expression[1],
            }
        ]
    )


AGES = (0.0, 70.0)


def test_an_expression_effect_that_is_there_gives_a_credible_estimate() -> None:
    out = judge(_transitions(), _changes((0.1, 0.3), (0.1, 0.3)), AGES)
    assert out["credible"].item() and out["note"].item() == ""


@pytest.mark.parametrize(
    ("row", "changes", "reason"),
    [
        ({"estimate": math.nan}, ((0.1, 0.3), (0.1, 0.3)), "not estimated"),
        ({"at_bound": True}, ((0.1, 0.3), (0.1, 0.3)), "at a bound"),
        ({"ci_low": math.nan}, ((0.1, 0.3), (0.1, 0.3)), "interval unbounded"),
        ({"ci_high": 70.0}, ((0.1, 0.3), (0.1, 0.3)), "interval unbounded"),
        ({}, ((0.1, 0.3), (-0.05, 0.1)), "no expression effect distinguishable"),
        ({"curve": OBSERVED_CURVE}, ((0.1, 0.3), (0.1, 0.3)), "face shape alone changes"),
        ({"curve": OBSERVED_CURVE}, None, "face shape not controlled"),
    ],
)
def test_what_the_data_cannot_support_is_not_credible(row, changes, reason) -> None:
    table = None if changes is None else _changes(*changes)
    out = judge(_transitions(**row), table, AGES)
    assert not out["credible"].item()
    assert reason in out["note"].item()


def test_an_observed_curve_without_face_shape_is_credible_with_controls() -> None:
    out = judge(_transitions(curve=OBSERVED_CURVE), _changes((-0.05, 0.05), (0.1, 0.3)), AGES)
    assert out["credible"].item()
    # ... and never without them: a real study cannot rule face shape out.
    assert judge(_transitions(curve=OBSERVED_CURVE), None, AGES)["note"].item() == NO_CONTROLS


def test_the_expression_effect_midpoint_recovers_a_known_transition() -> None:
    # The effect of expression development on the adult model: -0.5 in infancy, rising to 0
    # through a logistic centred at 9 y; face shape adds nothing.
    rng = np.random.default_rng(0)
    n = 4000
    age = rng.uniform(0, 30, n)
    effect = -0.5 / (1 + np.exp((age - 9.0) / 1.2))
    control = rng.random(n) < 0.7
    observed = np.where(rng.random(n) < -effect, False, control)
    groups = np.where(age < 18, "young", "old").tolist()
    obs = _predictions("adult", observed.astype(int).tolist(), groups).assign(age=age)
    ctl = _predictions("adult", control.astype(int).tolist(), groups).assign(age=age)
    fits = effect_transitions(paired_table(obs, {"expression_off": ctl}), n_boot=50, seed=1)
    (fit,) = fits
    assert fit["model"] == "adult"
    assert fit["estimate"] == pytest.approx(9.0, abs=1.0)
    assert fit["ci_low"] < 9.0 < fit["ci_high"]


def test_the_expression_only_curve_is_judged_on_its_own_control() -> None:
    # The shape_off control shows no expression change: the expression-only curve (accuracy on
    # the shape_off renderings) has nothing to describe, whatever expression_off says.
    changes = pd.concat(
        [
            _changes((0.1, 0.3), (0.1, 0.3)),
            _changes((0.1, 0.3), (-0.1, 0.1)).assign(control="shape_off"),
        ],
        ignore_index=True,
    )
    out = judge(_transitions(curve="expression only"), changes, AGES)
    assert not out["credible"].item()
    assert "no expression effect" in out["note"].item()
    assert judge(_transitions(), changes, AGES)["credible"].item()  # the effect row is fine


def test_a_zero_expression_effect_is_not_fitted() -> None:
    observed, _ = _study(k=5)
    (fit,) = effect_transitions(paired_table(observed, {"expression_off": observed}), n_boot=10)
    assert math.isnan(fit["estimate"]) and "zero on every image" in fit["method"]
    row = judge(
        pd.DataFrame([{"model": "adult", "curve": EFFECT_CURVE, **fit, "note": ""}]), None, AGES
    )
    assert not row["credible"].item()
    assert row["note"].item() == "not estimated: the expression effect is zero on every image"
