"""Figures and tables render from small synthetic versions of the workflow's tidy tables.

Every figure is drawn once into tmp_path (PDF and 300-dpi PNG of the requested size), every
figure function rejects a table with a missing column by naming it, and the tables' Markdown
and LaTeX carry hand-checked numbers. Warnings are errors here: regenerating figures must
print nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from devfer import CLASSES
from devfer import figures as F
from devfer import tables as T

pytestmark = pytest.mark.filterwarnings("error")

# Group names are data; these mirror the config but nothing in the code depends on them.
GROUPS: list[dict[str, Any]] = [
    {"name": "infant", "min": 0, "max": 4},
    {"name": "younger_child", "min": 4, "max": 8},
    {"name": "older_child", "min": 8, "max": 13},
    {"name": "teenager", "min": 13, "max": 18},
    {"name": "adult", "min": 18, "max": None},
]
NAMES = [g["name"] for g in GROUPS]
MIDS = {"infant": 1.5, "younger_child": 6.0, "older_child": 10.5, "teenager": 15.5, "adult": 30.0}
MODELS = ("infant", "adult")


def _bucket(ages: np.ndarray) -> list[str]:
    edges = np.array([0, 4, 8, 13, 18])
    return [NAMES[int(np.searchsorted(edges, a, side="right")) - 1] for a in ages]


def make_tables(seed: int = 0) -> dict[str, Any]:
    """One small instance of every table contract (a few hundred rows in all)."""
    rng = np.random.default_rng(seed)
    cross, conf, comp = [], [], []
    for m in MODELS:
        for k, g in enumerate(NAMES):
            acc = 0.3 + 0.1 * k if m == "adult" else 0.7 - 0.1 * k
            row = {
                "model": m,
                "age_group": g,
                "group_order": k,
                "n": 100 + k,
                "accuracy": acc,
                "ci_low": acc - 0.05,
                "ci_high": acc + 0.05,
                "balanced_accuracy": acc,
                "macro_f1": acc,
                "kappa": acc,
                "standardised_accuracy": acc,
                "chance": 1 / 7,
                "n_seeds": 1,
                "accuracy_sd": math.nan,
            }
            row.update({f"recall_{c}": acc for c in CLASSES})
            cross.append(row)
            if k >= 3:  # confusion cells are slow to draw; three groups test the layout
                continue
            for lab in CLASSES:
                shares = rng.dirichlet(np.ones(len(CLASSES)))
                for pred, s in zip(CLASSES, shares, strict=True):
                    conf.append(
                        {
                            "model": m,
                            "age_group": g,
                            "group_order": k,
                            "label": lab,
                            "pred": pred,
                            "n": int(100 * s),
                            "share": s,
                        }
                    )
    for ds, groups in (("tif", NAMES[:1]), ("affectnet", NAMES)):
        for g in groups:
            for lab in CLASSES:
                comp.append(
                    {
                        "dataset": ds,
                        "age_group": g,
                        "group_order": NAMES.index(g),
                        "label": lab,
                        "n": int(rng.integers(5, 40)),
                    }
                )
    age_grid = np.linspace(0, 40, 41)
    curves = []
    for m in MODELS:
        for fit in ("linear", "quadratic", "spline", "logistic4"):
            y = (
                0.3 + 0.4 / (1 + np.exp(-(age_grid - 10)))
                if fit != "linear"
                else 0.3 + 0.01 * age_grid
            )
            curves.append(
                pd.DataFrame(
                    {
                        "model": m,
                        "fit": fit,
                        "age": age_grid,
                        "accuracy": y,
                        "ci_low": y - 0.05,
                        "ci_high": y + 0.05,
                    }
                )
            )
    ages = []
    for ds, lo, hi in (("tif", 0.3, 1.0), ("utkface", 0, 70)):
        a = rng.uniform(lo, hi, 60)
        ages.append(
            pd.DataFrame(
                {
                    "dataset": ds,
                    "image_id": [f"{ds}{i}" for i in range(60)],
                    "age_pred": a,
                    "age_group": _bucket(a),
                }
            )
        )
    true = rng.uniform(0, 70, 80)
    pred = np.clip(true + rng.normal(0, 3, 80), 0, None)
    est = pd.DataFrame(
        {
            "image_id": [f"u{i}" for i in range(80)],
            "age_true": true,
            "age_pred": pred,
            "true_group": _bucket(true),
            "pred_group": _bucket(pred),
        }
    )
    metrics = [{"metric": "mae", "true_group": "all", "pred_group": "all", "value": 3.0, "n": 80}]
    for g in NAMES:
        metrics.append(
            {"metric": "mae", "true_group": g, "pred_group": "all", "value": 2.0, "n": 16}
        )
        metrics.append(
            {
                "metric": "group_accuracy",
                "true_group": g,
                "pred_group": "all",
                "value": 0.8,
                "n": 16,
            }
        )
    hist = []
    for m in (*MODELS, "age_estimator"):
        for seed_ in (0, 1):
            for ep in range(1, 6):
                row = {
                    "model": m,
                    "seed": seed_,
                    "epoch": ep,
                    "lr": 1e-3,
                    "seconds": 1.0,
                    "train_loss": 2 / ep,
                    "val_loss": 2.2 / ep,
                }
                if m == "age_estimator":
                    row.update(
                        train_accuracy=math.nan,
                        val_accuracy=math.nan,
                        train_mae=10 / ep,
                        val_mae=11 / ep,
                    )
                else:
                    row.update(
                        train_accuracy=0.5 + 0.08 * ep,
                        val_accuracy=0.45 + 0.05 * ep,
                        train_mae=math.nan,
                        val_mae=math.nan,
                    )
                hist.append(row)
    fits = []
    for m in MODELS:
        for level, fit, stat, df, p in (
            ("group", "linear", math.nan, math.nan, math.nan),
            ("group", "quadratic", 4.2, 1, 0.04),
            ("image", "linear", math.nan, math.nan, math.nan),
            ("image", "spline", 25.3, 3, 0.00002),
        ):
            fits.append(
                {
                    "model": m,
                    "level": level,
                    "fit": fit,
                    "aic": 100.04,
                    "bic": 110.06,
                    "statistic": stat,
                    "df": df,
                    "p_value": p,
                    "preferred": fit == "spline",
                    "decision": "nonlinear",
                    "evidence": "LR test",
                }
            )
    transition = pd.DataFrame(
        {
            "model": list(MODELS),
            "estimate": [6.0, 10.2],
            "ci_low": [4.0, 9.0],
            "ci_high": [8.0, 11.5],
            "truth": [math.nan, 10.0],
            "method": "logistic4",
        }
    )
    grid = pd.DataFrame(
        [
            {
                "model": m,
                "lr": lr,
                "dropout": dp,
                "weight_decay": wd,
                "val_accuracy": 0.5 + lr * 10 + dp / 10,
                "best": False,
            }
            for m in MODELS
            for lr in (1e-4, 1e-3)
            for dp in (0.0, 0.5)
            for wd in (0.0, 1e-4)
        ]
    )
    grid.loc[grid.groupby("model")["val_accuracy"].idxmax(), "best"] = True
    return {
        "cross_group": pd.DataFrame(cross),
        "trend_curves": pd.concat(curves, ignore_index=True),
        "confusion": pd.DataFrame(conf),
        "composition": pd.DataFrame(comp),
        "ages": pd.concat(ages, ignore_index=True),
        "estimator_test": est,
        "estimator_metrics": pd.DataFrame(metrics),
        "histories": pd.DataFrame(hist),
        "trend_fits": pd.DataFrame(fits),
        "transition": transition,
        "grid": grid,
    }


@pytest.fixture(scope="module")
def tables() -> dict[str, Any]:
    return make_tables()


def expected_px(mm: float) -> int:
    return round(mm / 25.4 * F.DPI)


def assert_saved(paths: list[Path], width_mm: float, height_mm: float) -> None:
    """Both files exist and are non-empty; the PNG has the pixel size of its mm size."""
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000, p
    pdf = next(p for p in paths if p.suffix == ".pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    with Image.open(next(p for p in paths if p.suffix == ".png")) as im:
        w, h = im.size
    assert abs(w - expected_px(width_mm)) <= 2, (w, expected_px(width_mm))
    assert abs(h - expected_px(height_mm)) <= 2, (h, expected_px(height_mm))


# Each figure: how to draw it from the tables, and a print size (mm) to save it at.
FIGURES: dict[str, tuple[Callable[[dict[str, Any]], Any], float, float]] = {
    "accuracy_by_group": (
        lambda t: F.accuracy_by_group(t["cross_group"], t["trend_curves"], MIDS, groups=GROUPS),
        F.DOUBLE_COLUMN_MM,
        95,
    ),
    "confusion_matrices": (lambda t: F.confusion_matrices(t["confusion"]), F.DOUBLE_COLUMN_MM, 76),
    "age_distributions": (
        lambda t: F.age_distributions(t["ages"], GROUPS),
        F.SINGLE_COLUMN_MM,
        86,
    ),
    "expression_mix": (lambda t: F.expression_mix(t["composition"]), F.DOUBLE_COLUMN_MM, 80),
    "estimator_scatter": (
        lambda t: F.estimator_scatter(t["estimator_test"], GROUPS),
        F.SINGLE_COLUMN_MM,
        92,
    ),
    "estimator_mae": (
        lambda t: F.estimator_mae(t["estimator_metrics"]),
        F.SINGLE_COLUMN_MM,
        60,
    ),
    "training_curves": (lambda t: F.training_curves(t["histories"]), F.DOUBLE_COLUMN_MM, 120),
    "transition_plot": (lambda t: F.transition_plot(t["transition"]), F.SINGLE_COLUMN_MM, 48),
    "grid_heatmap": (lambda t: F.grid_heatmap(t["grid"]), F.DOUBLE_COLUMN_MM, 70),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_renders_pdf_and_png_at_print_size(
    name: str, tables: dict[str, Any], tmp_path: Path
) -> None:
    draw, width, height = FIGURES[name]
    open_before = plt.get_fignums()
    paths = F.save_figure(draw(tables), tmp_path / "nested" / name, width, height)
    assert_saved(paths, width, height)
    assert plt.get_fignums() == open_before  # the figure was closed


# Each figure function, the table keyword it validates, and a column it requires.
MISSING_COLUMN_CASES: list[tuple[str, str, str]] = [
    ("accuracy_by_group", "cross_group", "ci_high"),
    ("accuracy_by_group", "trend_curves", "fit"),
    ("confusion_matrices", "confusion", "share"),
    ("age_distributions", "ages", "age_pred"),
    ("expression_mix", "composition", "label"),
    ("estimator_scatter", "estimator_test", "age_true"),
    ("estimator_mae", "estimator_metrics", "value"),
    ("training_curves", "histories", "val_loss"),
    ("transition_plot", "transition", "truth"),
    ("grid_heatmap", "grid", "dropout"),
]


@pytest.mark.parametrize(("name", "table", "column"), MISSING_COLUMN_CASES)
def test_missing_column_raises_value_error_naming_it(
    name: str, table: str, column: str, tables: dict[str, Any]
) -> None:
    broken = dict(tables)
    broken[table] = tables[table].drop(columns=[column])
    draw = FIGURES[name][0]
    with pytest.raises(ValueError, match=rf"\b{column}\b"):
        draw(broken)


def test_accuracy_by_group_needs_a_midpoint_for_every_group(tables: dict[str, Any]) -> None:
    mids = {k: v for k, v in MIDS.items() if k != "teenager"}
    with pytest.raises(ValueError, match="teenager"):
        F.accuracy_by_group(tables["cross_group"], None, mids)


def test_render_all_draws_only_present_tables_reproducibly(
    tables: dict[str, Any], tmp_path: Path
) -> None:
    """Figures whose tables are absent are skipped; regenerating gives byte-identical files."""
    subset = {"transition": tables["transition"], "estimator_metrics": tables["estimator_metrics"]}
    first = F.render_all(subset, GROUPS, tmp_path / "a")
    assert sorted(p.name for p in first) == [
        "estimator_mae.pdf",
        "estimator_mae.png",
        "transition.pdf",
        "transition.png",
    ]
    assert all(p.stat().st_size > 0 for p in first)
    second = F.render_all({"transition": tables["transition"]}, GROUPS, tmp_path / "b")
    for b in second:
        a = tmp_path / "a" / b.name
        assert a.read_bytes() == b.read_bytes(), b.name  # no timestamps in the PDF


def test_group_midpoints_use_image_ages_and_fall_back_to_bounds() -> None:
    ages = pd.DataFrame(
        {"age_pred": [1.0, 2.0, 3.0, 40.0], "age_group": ["infant"] * 3 + ["adult"]}
    )
    mids = F.group_midpoints(GROUPS, ages)
    assert mids["infant"] == 2.0  # median of the group's images
    assert mids["adult"] == 40.0
    assert mids["older_child"] == 10.5  # no images: middle of [8, 13)
    assert F.group_midpoints(GROUPS)["adult"] == 20.5  # open group: 18 + half of [13, 18)


def test_labels_replace_underscores() -> None:
    assert F.pretty("younger_child") == "Younger child"
    assert F.model_label("adult") == "Adult model"
    assert F.model_label("age_estimator") == "Age estimator"
    assert F.dataset_label("affectnet_sim") == "AffectNet (simulated)"


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _cross_group_for_table() -> pd.DataFrame:
    """Rows deliberately out of order: the table must follow group_order, not row order."""
    rows = []
    for m, base in (("adult", 0.30), ("infant", 0.60)):
        for k, g in reversed(list(enumerate(NAMES))):
            acc = base + 0.05 * k
            rows.append(
                {
                    "model": m,
                    "age_group": g,
                    "group_order": k,
                    "n": 200 + k,
                    "accuracy": acc,
                    "ci_low": acc - 0.04,
                    "ci_high": acc + 0.04,
                }
            )
    df = pd.DataFrame(rows)
    mask = (df["model"] == "infant") & (df["age_group"] == "younger_child")
    df.loc[mask, ["accuracy", "ci_low", "ci_high"]] = [0.4567, 0.40123, 0.51249]
    return df


def test_cross_group_markdown_has_one_row_per_group_in_order() -> None:
    table = T.cross_group_table(_cross_group_for_table())
    assert list(table.columns) == ["Age group", "n", "Infant model", "Adult model"]
    md = T.to_markdown(table).splitlines()
    assert md[0].startswith("| Age group")
    assert set(md[1]) <= {"|", "-", ":", " "}
    body = md[2:]
    assert [line.split("|")[1].strip() for line in body] == [
        "Infant",
        "Younger child",
        "Older child",
        "Teenager",
        "Adult",
    ]
    # Derived by hand: 0.4567 -> 45.7 %, 0.40123 -> 40.1, 0.51249 -> 51.2; n = 200 + 1.
    cells = [c.strip() for c in body[1].split("|")[1:-1]]
    assert cells == ["Younger child", "201", "45.7% [40.1, 51.2]", "35.0% [31.0, 39.0]"]


def test_cross_group_table_shows_unequal_n_per_model() -> None:
    df = _cross_group_for_table()
    df.loc[(df["model"] == "adult") & (df["age_group"] == "infant"), "n"] = 150
    table = T.cross_group_table(df)
    assert table.loc[0, "n"] == "200 / 150"  # model columns' order: infant, adult


def test_latex_escapes_and_uses_booktabs() -> None:
    df = pd.DataFrame({"age_group": ["younger_child"], "Accuracy": ["45.7% [40.1, 51.2]"]})
    tex = T.to_latex(df, caption="Accuracy by age_group", label="tab:cross_group")
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"age\_group & Accuracy \\" in tex
    assert r"younger\_child & 45.7\% [40.1, 51.2] \\" in tex
    assert r"\caption{Accuracy by age\_group}" in tex
    assert r"\label{tab:cross_group}" in tex
    assert r"\begin{tabular}{lr}" in tex
    assert "_" not in tex.replace(r"\_", "").replace("tab:cross_group", "")


def test_trend_fit_table_formats_p_and_orders_rows(tables: dict[str, Any]) -> None:
    table = T.trend_fit_table(tables["trend_fits"])
    assert list(table.columns) == [
        "Model",
        "Level",
        "Fit",
        "AIC",
        "BIC",
        "Statistic",
        "df",
        "p",
        "Preferred",
        "Decision",
    ]
    first = table.iloc[:4]
    assert list(first["Model"]) == ["Infant model"] * 4
    assert list(first["Fit"]) == ["Linear", "Quadratic", "Linear", "Natural spline"]
    assert list(first["p"]) == [T.MISSING, "0.040", T.MISSING, "< 0.001"]
    assert first["AIC"].iloc[0] == "100.0" and first["df"].iloc[1] == "1"
    tex = T.to_latex(table, "Trend fits", "tab:trend")
    assert "$<$ 0.001" in tex and "--" in tex


def test_write_tables_writes_markdown_and_latex(tables: dict[str, Any], tmp_path: Path) -> None:
    paths = T.write_tables(tables["cross_group"], tables["trend_fits"], tmp_path / "tables")
    assert sorted(p.name for p in paths) == [
        "cross_group.md",
        "cross_group.tex",
        "trend_fits.md",
        "trend_fits.tex",
    ]
    for p in paths:
        assert p.read_text(encoding="utf-8").strip()
    assert "Younger child" in (tmp_path / "tables" / "cross_group.md").read_text(encoding="utf-8")


def test_tables_validate_columns(tables: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="ci_low"):
        T.cross_group_table(tables["cross_group"].drop(columns=["ci_low"]))
    with pytest.raises(ValueError, match="p_value"):
        T.trend_fit_table(tables["trend_fits"].drop(columns=["p_value"]))
