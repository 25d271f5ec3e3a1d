"""Figures and tables from small synthetic versions of the workflow's tidy tables.

The central figures are checked for what they plot (the plotnine object's data, aesthetic
mappings, facets and layers, with numbers derived from the input frames); every figure is
drawn once, two are saved as PDF and 300-dpi PNG of the requested size; every figure function
rejects a table with a missing column by naming it; the tables' Markdown and LaTeX carry
hand-checked cells. Warnings are errors here: regenerating figures must print nothing.
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
from plotnine import ggplot

from devfer import CLASSES
from devfer import figures as F
from devfer.figures import tables as T
from devfer.figures.labels import MISSING
from devfer.figures.theme import DPI
from devfer.stats.seeds import interval_scope

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
    return round(mm / 25.4 * DPI)


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


def layers(plot: ggplot, geom: str) -> list[Any]:
    """The plot's layers drawn with `geom` (e.g. 'geom_point'), in drawing order."""
    return [layer for layer in plot.layers if type(layer.geom).__name__ == geom]


def scale(plot: ggplot, aesthetic: str) -> Any:
    """The scale added for `aesthetic` (plotnine spells colour 'color')."""
    return next(s for s in plot.scales if aesthetic in s.aesthetics)


def categories(values: pd.Series) -> list[str]:
    """Levels of an ordered categorical: the order plotnine draws axes, legends and facets in."""
    assert isinstance(values.dtype, pd.CategoricalDtype) and values.cat.ordered
    return list(values.cat.categories)


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


@pytest.mark.parametrize("name", ["accuracy_by_group", "confusion_matrices"])
def test_figure_saves_pdf_and_png_at_print_size(
    name: str, tables: dict[str, Any], tmp_path: Path
) -> None:
    draw, width, height = FIGURES[name]
    open_before = plt.get_fignums()
    paths = F.save_figure(draw(tables), tmp_path / "nested" / name, width, height)
    assert_saved(paths, width, height)
    assert plt.get_fignums() == open_before  # the figure was closed


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_draws_without_warnings(name: str, tables: dict[str, Any]) -> None:
    """Building and drawing (not only constructing) the plot works and prints nothing."""
    figure = FIGURES[name][0](tables).draw()
    try:
        assert figure.axes
    finally:
        plt.close(figure)


# --------------------------------------------------------------------------------------------
# What the central figures plot
# --------------------------------------------------------------------------------------------


def _accuracy(model: str, k: int) -> float:
    """The accuracy make_tables gives a model on the k-th age group."""
    return 0.3 + 0.1 * k if model == "adult" else 0.7 - 0.1 * k


def test_accuracy_by_group_plots_each_model_and_group_at_its_age(tables: dict[str, Any]) -> None:
    p = F.accuracy_by_group(tables["cross_group"], tables["trend_curves"], MIDS, groups=GROUPS)
    assert type(p.facet).__name__ == "facet_null"  # one panel: models share the age axis
    [points] = layers(p, "geom_point")
    assert dict(points.mapping) == {
        "x": "x",
        "y": "accuracy",
        "color": "model",
        "fill": "model",
        "shape": "model",
    }
    d = points._data
    assert len(d) == len(MODELS) * len(NAMES)
    assert d.groupby("model", observed=True).size().to_dict() == {"infant": 5, "adult": 5}
    assert categories(d["model"]) == ["infant", "adult"]
    k = d["age_group"].map(NAMES.index)
    expected = [_accuracy(m, i) for m, i in zip(d["model"], k, strict=True)]
    np.testing.assert_allclose(d["accuracy"], expected)
    # Groups sit at their midpoint ages, models dodged by 1.2 % of the axis (0 to 1.12 x 30 y).
    step = 0.012 * 1.12 * MIDS["adult"]
    offset = np.where(d["model"] == "infant", -step / 2, step / 2)
    np.testing.assert_allclose(d["x"], d["age_group"].map(MIDS) + offset)

    [bars] = layers(p, "geom_errorbar")
    assert dict(bars.mapping) == {"x": "x", "ymin": "ci_low", "ymax": "ci_high", "color": "model"}
    np.testing.assert_allclose(bars._data["ci_low"], bars._data["accuracy"] - 0.05)
    np.testing.assert_allclose(bars._data["ci_high"], bars._data["accuracy"] + 0.05)

    names = next(lyr for lyr in layers(p, "geom_text") if "label" in lyr.mapping)
    assert list(names._data["label"]) == [
        "Infant",
        "Younger\nchild",
        "Older\nchild",
        "Teenager",
        "Adult",
    ]
    assert list(names._data["x"]) == [MIDS[g] for g in NAMES]
    colour = scale(p, "color")
    assert list(colour.breaks) == ["infant", "adult"]
    assert list(colour.labels) == ["Infant model", "Adult model"]
    assert scale(p, "x").name == "Age (years)" and scale(p, "y").name == "Accuracy (%)"


def test_accuracy_by_group_draws_chance_and_boundaries_when_given(tables: dict[str, Any]) -> None:
    p = F.accuracy_by_group(tables["cross_group"], None, MIDS, groups=GROUPS)
    assert [lyr._data["xintercept"].item() for lyr in layers(p, "geom_vline")] == [4, 8, 13, 18]
    [chance] = layers(p, "geom_hline")
    assert chance._data["yintercept"].item() == pytest.approx(1 / 7, abs=1e-6)
    assert chance.geom.aes_params["linetype"] == "dashed"
    notes = [lyr.geom.aes_params.get("label") for lyr in layers(p, "geom_text")]
    assert "Chance (14.3%)" in notes

    # Chance differs between models: one line each, and a label without a number.
    cg = tables["cross_group"].copy()
    cg.loc[cg["model"] == "adult", "chance"] = 0.2
    p = F.accuracy_by_group(cg, None, MIDS)
    lines = sorted(lyr._data["yintercept"].item() for lyr in layers(p, "geom_hline"))
    assert lines == pytest.approx([1 / 7, 0.2], abs=1e-6)
    assert "Chance" in [lyr.geom.aes_params.get("label") for lyr in layers(p, "geom_text")]


def test_accuracy_by_group_leaves_out_what_is_not_given(tables: dict[str, Any]) -> None:
    cg = tables["cross_group"].assign(chance=math.nan)
    p = F.accuracy_by_group(cg, None, MIDS)
    for geom in ("geom_vline", "geom_hline", "geom_line", "geom_ribbon"):
        assert layers(p, geom) == [], geom
    [names] = layers(p, "geom_text")  # only the group names, no chance label
    assert "label" in names.mapping
    assert {"size"}.isdisjoint(s.aesthetics[0] for s in p.scales)  # no trend legend


def test_accuracy_by_group_draws_linear_and_nonlinear_trends(tables: dict[str, Any]) -> None:
    curves = tables["trend_curves"]
    p = F.accuracy_by_group(tables["cross_group"], curves, MIDS)
    [line] = layers(p, "geom_line")
    assert dict(line.mapping) == {
        "x": "age",
        "y": "accuracy",
        "color": "model",
        "linetype": "model",
        "size": "role",
    }
    d = line._data
    # The 4-parameter logistic is preferred; ages run to 1.12 x 30 y, so 0..33 of the grid.
    assert set(d["fit"]) == {"linear", "logistic4"}
    assert categories(d["role"]) == ["linear", "nonlinear"]
    assert categories(d["model"]) == ["infant", "adult"]
    assert d.groupby(["model", "role"], observed=True).size().tolist() == [34] * 4
    linear = d.loc[d["fit"] == "linear"]
    np.testing.assert_allclose(linear["accuracy"], 0.3 + 0.01 * linear["age"])
    [band] = layers(p, "geom_ribbon")
    assert dict(band.mapping) == {
        "x": "age",
        "ymin": "ci_low",
        "ymax": "ci_high",
        "fill": "model",
        "group": "model",
    }
    assert set(band._data["fit"]) == {"logistic4"} and len(band._data) == 2 * 34
    np.testing.assert_allclose(band._data["ci_low"], band._data["accuracy"] - 0.05)
    assert list(scale(p, "size").labels) == ["Linear fit", "4-parameter logistic fit"]

    # Another nonlinear fit on request, and a shorter age axis.
    p = F.accuracy_by_group(tables["cross_group"], curves, MIDS, nonlinear_fit="spline", age_max=20)
    [line] = layers(p, "geom_line")
    assert set(line._data["fit"]) == {"linear", "spline"}
    assert line._data["age"].max() == 20 and len(line._data) == 2 * 2 * 21
    assert list(scale(p, "size").labels) == ["Linear fit", "Natural spline fit"]

    # No interval on the curves: lines but no band.
    p = F.accuracy_by_group(tables["cross_group"], curves.assign(ci_low=math.nan), MIDS)
    assert len(layers(p, "geom_line")) == 1 and layers(p, "geom_ribbon") == []
    with pytest.raises(ValueError, match="'gam'"):
        F.accuracy_by_group(tables["cross_group"], curves, MIDS, nonlinear_fit="gam")


def _small_confusion() -> pd.DataFrame:
    """Two models, two groups (listed out of order), two classes; rows sum to 1."""
    rows = []
    for m in ("adult", "infant"):
        for g, k in (("older_child", 1), ("infant", 0)):
            for label, shares in (
                ("sad", {"happy": 0.3, "sad": 0.7}),
                ("happy", {"happy": 0.9, "sad": 0.1}),
            ):
                for pred, share in shares.items():
                    rows.append(
                        {
                            "model": m,
                            "age_group": g,
                            "group_order": k,
                            "label": label,
                            "pred": pred,
                            "share": share,
                        }
                    )
    return pd.DataFrame(rows)


def test_confusion_matrices_facets_models_by_groups_with_share_cells() -> None:
    p = F.confusion_matrices(_small_confusion())
    assert dict(p.mapping) == {"x": "pred", "y": "label", "fill": "share"}
    assert type(p.facet).__name__ == "facet_grid"
    assert p.facet.rows == ["model"] and p.facet.cols == ["age_group"]
    d = p.data
    assert len(d) == 2 * 2 * 4
    assert categories(d["model"]) == ["infant", "adult"]
    assert categories(d["age_group"]) == ["infant", "older_child"]  # by group_order
    assert categories(d["pred"]) == ["happy", "sad"]  # canonical class order
    assert categories(d["label"]) == ["sad", "happy"]  # reversed: first class on top
    sums = d.groupby(["model", "age_group", "label"], observed=True)["share"].sum()
    np.testing.assert_allclose(sums, 1.0)
    assert dict(zip(d["share"], d["text"], strict=True)) == {
        0.9: "90",
        0.1: "10",
        0.3: "30",
        0.7: "70",
    }
    [tiles] = layers(p, "geom_tile")
    assert tiles._data is None  # the cells are the plot's own data
    light, dark = layers(p, "geom_text")  # numbers switch to white on dark cells
    assert set(light._data["share"]) == {0.1, 0.3} and light.geom.aes_params["color"] != "white"
    assert set(dark._data["share"]) == {0.9, 0.7} and dark.geom.aes_params["color"] == "white"
    fill = scale(p, "fill")
    assert tuple(fill.limits) == (0, 1)


def test_confusion_matrices_on_workflow_tables(tables: dict[str, Any]) -> None:
    conf = tables["confusion"]
    d = F.confusion_matrices(conf).data
    assert len(d) == len(conf) == 2 * 3 * len(CLASSES) ** 2
    assert categories(d["pred"]) == list(CLASSES)
    assert categories(d["age_group"]) == NAMES[:3]
    assert list(d["text"]) == [f"{100 * s:.0f}" for s in conf["share"]]


def test_transition_plot_shows_estimates_intervals_and_truth(tables: dict[str, Any]) -> None:
    p = F.transition_plot(tables["transition"])
    assert type(p.facet).__name__ == "facet_null"  # one method, one panel
    [bars] = layers(p, "geom_errorbarh")
    assert dict(bars.mapping) == {
        "y": "model",
        "xmin": "ci_low",
        "xmax": "ci_high",
        "color": "model",
    }
    assert categories(bars._data["model"]) == ["adult", "infant"]  # first model on top
    cis = {
        m: (lo, hi) for m, lo, hi in bars._data[["model", "ci_low", "ci_high"]].itertuples(False)
    }
    assert cis == {"infant": (4.0, 8.0), "adult": (9.0, 11.5)}
    estimate, truth = layers(p, "geom_point")
    assert dict(estimate.mapping) == {
        "x": "estimate",
        "y": "model",
        "color": "model",
        "shape": "kind",
    }
    assert dict(zip(estimate._data["model"], estimate._data["estimate"], strict=True)) == {
        "infant": 6.0,
        "adult": 10.2,
    }
    assert dict(truth.mapping) == {"x": "truth", "y": "model", "shape": "kind"}
    assert truth._data[["model", "truth", "kind"]].astype(object).values.tolist() == [
        ["adult", 10.0, "truth"]
    ]
    shape = scale(p, "shape")
    assert list(shape.breaks) == ["estimate", "truth"]
    # One seed (no n_seeds column): the legend says the interval leaves training out.
    assert list(shape.labels) == [
        "Estimate (95% CI, test faces only (1 seed))",
        "True transition age",
    ]


def test_transition_plot_without_truth_and_with_two_methods(tables: dict[str, Any]) -> None:
    no_truth = tables["transition"].assign(truth=math.nan)
    p = F.transition_plot(no_truth, interval_label="90% CI")
    assert len(layers(p, "geom_point")) == 1
    assert list(scale(p, "shape").breaks) == ["estimate"]
    assert list(scale(p, "shape").labels) == ["Estimate (90% CI)"]

    crossover = tables["transition"].assign(method="crossover: adult > infant; bootstrap CI")
    p = F.transition_plot(pd.concat([tables["transition"], crossover], ignore_index=True))
    assert type(p.facet).__name__ == "facet_wrap" and p.facet.vars == ["estimator"]
    [estimate, truth] = layers(p, "geom_point")
    assert categories(estimate._data["estimator"]) == [
        "4-parameter logistic",
        "Crossover: adult model overtakes infant model",
    ]
    assert len(truth._data) == 2  # the adult model's truth in both panels


def test_training_curves_one_panel_per_model_and_logged_quantity(tables: dict[str, Any]) -> None:
    p = F.training_curves(tables["histories"])
    assert dict(p.mapping) == {
        "x": "epoch",
        "y": "value",
        "group": "line",
        "color": "split",
        "linetype": "split",
    }
    assert type(p.facet).__name__ == "facet_wrap" and p.facet.vars == ["panel"]
    assert p.facet.free == {"x": True, "y": True}
    d = p.data
    panels = [
        "Infant model: loss",
        "Infant model: accuracy (%)",
        "Adult model: loss",
        "Adult model: accuracy (%)",
        "Age estimator: loss",
        "Age estimator: MAE (years)",
    ]
    assert categories(d["panel"]) == panels
    # 2 seeds x 5 epochs x train/val in each panel; NaN columns (MAE of classifiers) dropped.
    assert d.groupby("panel", observed=True).size().tolist() == [20] * 6
    assert set(d["line"]) == {"0/train", "0/val", "1/train", "1/val"}
    assert [type(lyr.geom).__name__ for lyr in p.layers] == ["geom_line"]

    def value(panel: str, split: str, epoch: int) -> float:
        sel = (d["panel"] == panel) & (d["split"] == split) & (d["epoch"] == epoch)
        return float(d.loc[sel & (d["seed"] == 0), "value"].item())

    assert value("Infant model: accuracy (%)", "train", 1) == pytest.approx(58.0)  # percent
    assert value("Adult model: accuracy (%)", "val", 5) == pytest.approx(70.0)
    assert value("Adult model: loss", "val", 2) == pytest.approx(1.1)
    assert value("Age estimator: MAE (years)", "train", 4) == pytest.approx(2.5)
    colour = scale(p, "color")
    assert list(colour.breaks) == ["train", "val"]
    assert list(colour.labels) == ["Training", "Validation"]


def test_grid_heatmap_outlines_the_selected_configuration(tables: dict[str, Any]) -> None:
    grid = tables["grid"]
    p = F.grid_heatmap(grid)
    assert dict(p.mapping) == {"x": "lr_f", "y": "dropout_f"}
    assert p.facet.rows == ["model"] and p.facet.cols == ["wd_f"]
    assert categories(p.data["lr_f"]) == ["1e-4", "1e-3"]
    assert categories(p.data["wd_f"]) == ["Weight decay 0", "Weight decay 1e-4"]
    cells, best = layers(p, "geom_tile")
    assert dict(cells.mapping) == {"fill": "val_accuracy"}
    assert dict(best.mapping) == {"color": "marker"}
    chosen = grid.loc[grid["best"]]
    assert best._data[["model", "lr", "dropout"]].astype(object).values.tolist() == (
        chosen[["model", "lr", "dropout"]].astype(object).values.tolist()
    )
    p = F.grid_heatmap(grid.assign(best=False))
    assert len(layers(p, "geom_tile")) == 1


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


def test_write_tables_formats_a_hand_made_cross_group_exactly(tmp_path: Path) -> None:
    """Every character of a tiny table, derived by hand: padding, alignment, escaping."""
    cross_group = pd.DataFrame(
        {
            "model": ["infant", "infant"],
            "age_group": ["younger_child", "infant"],
            "group_order": [1, 0],
            "n": [8, 12],
            "accuracy": [0.25, 0.5],
            "ci_low": [math.nan, 0.4],  # no interval: the cell shows the accuracy alone
            "ci_high": [math.nan, 0.6],
        }
    )
    fits = make_tables()["trend_fits"].iloc[:2]
    T.write_tables(cross_group, fits, tmp_path)
    assert (tmp_path / "cross_group.md").read_text(encoding="utf-8") == (
        "| Age group     |   n |       Infant model |\n"
        "| ------------- | --: | -----------------: |\n"
        "| Infant        |  12 | 50.0% [40.0, 60.0] |\n"
        "| Younger child |   8 |              25.0% |\n"
        "\n"
        "Expression recognition accuracy by age group (percent, with confidence interval); "
        f"intervals: {interval_scope(1)}.\n"
    )
    tex = (tmp_path / "cross_group.tex").read_text(encoding="utf-8").splitlines()
    # No n_seeds column: one seed, and the caption says the intervals leave training out.
    assert tex[2].startswith(
        r"\caption{Expression recognition accuracy by age group (percent, with confidence"
        r" interval); intervals: test faces only: training variance not included"
    )
    assert tex[3:9] == [
        r"\label{tab:cross_group}",
        r"\begin{tabular}{lrr}",
        r"\toprule",
        r"Age group & n & Infant model \\",
        r"\midrule",
        r"Infant & 12 & 50.0\% [40.0, 60.0] \\",
    ]
    assert tex[9] == r"Younger child & 8 & 25.0\% \\"
    trend = (tmp_path / "trend_fits.tex").read_text(encoding="utf-8").splitlines()
    row = r"Infant model & Group & Quadratic & 100.0 & 110.1 & 4.20 & 1 & 0.040 &  & Nonlinear \\"
    assert row in trend


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
    assert list(first["p"]) == [MISSING, "0.040", MISSING, "< 0.001"]
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


def test_transition_plot_marks_what_is_not_credible(tables: dict[str, Any]) -> None:
    judged = tables["transition"].assign(credible=[True, False])
    p = F.transition_plot(judged)
    estimate, _ = layers(p, "geom_point")
    kinds = dict(zip(estimate._data["model"].astype(str), estimate._data["kind"], strict=True))
    assert kinds == {"infant": "estimate", "adult": "not_credible"}
    shape = scale(p, "shape")
    assert list(shape.breaks) == ["estimate", "not_credible", "truth"]
    assert shape.labels[1] == "Not credible (see the table's note)"


def test_decomposition_plot_and_tables(tmp_path: Path) -> None:
    from devfer.figures.decomposition import decomposition_plot
    from devfer.figures.tables import decomposition_table, transition_table

    rows = []
    for cond, (young, old) in {"observed": (0.2, 0.6), "expression_off": (0.4, 0.6)}.items():
        for group, value in (("young", young), ("old", old)):
            rows.append(("adult", group, "accuracy", cond, value))
    rows += [("adult", "young", "effect", "expression_off", -0.2)]
    rows += [("adult", "old", "effect", "expression_off", 0.0)]
    df = pd.DataFrame(rows, columns=["model", "age_group", "quantity", "condition", "value"])
    df = df.assign(ci_low=df["value"] - 0.05, ci_high=df["value"] + 0.05)
    p = decomposition_plot(df, ["young", "old"])
    assert categories(p.data["age_group"]) == ["young", "old"]
    assert categories(p.data["row"]) == ["Accuracy", "Observed - control"]
    assert list(scale(p, "color").breaks) == ["observed", "expression_off"]
    change = pd.DataFrame(
        [
            {
                "model": "adult", "control": "expression_off", "from_group": "young",
                "to_group": "old", "observed_change": 0.4, "observed_ci_low": 0.3,
                "observed_ci_high": 0.5, "shape_change": 0.2, "shape_ci_low": 0.1,
                "shape_ci_high": 0.3, "expression_change": 0.2, "expression_ci_low": 0.1,
                "expression_ci_high": 0.3, "share_shape": 0.5, "verdict": "both",
            }
        ]
    )  # fmt: skip
    table = decomposition_table(change)
    assert table.loc[0, "Observed (pts)"] == "+40.0 [+30.0, +50.0]"
    assert table.loc[0, "Face-shape share"] == "50%"
    transition = pd.DataFrame(
        [
            {"model": "adult", "curve": "observed", "method": "crossover: x; y", "estimate": 8.5,
             "ci_low": 7.8, "ci_high": 9.2, "truth": 8.85, "credible": False, "note": "face"},
        ]
    )  # fmt: skip
    row = transition_table(transition).iloc[0]
    assert row["Age (y) [95% CI]"] == "8.5 [7.8, 9.2]"
    assert (row["Credible"], row["Why not"], row["Estimator"]) == ("no", "face", "crossover")
