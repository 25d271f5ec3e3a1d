"""Valence/arousal figures and table from small synthetic metrics and predictions tables.

The tables have a group missing for one model (and teenagers missing entirely), intervals that
are NaN and an unknown ceiling, as real evaluations do. Warnings are errors here, as in
test_figures: regenerating figures must print nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from devfer.figures import affect as A
from devfer.figures.labels import MISSING
from devfer.figures.tables import to_latex, to_markdown
from devfer.figures.theme import DOUBLE_COLUMN_MM, DPI, save_figure

pytestmark = pytest.mark.filterwarnings("error")

GROUPS = ["infant", "younger_child", "older_child", "teenager", "adult"]
MODELS = ("adult", "infant")  # listed adult first: the figures must still put infant first
METRICS = ("rmse", "mae", "pearson", "sagr", "ccc")


def make_metrics() -> pd.DataFrame:
    """No teenagers at all; the infant model lacks older_child; NaN intervals here and there."""
    rows = []
    for m in MODELS:
        for gi, g in enumerate([*GROUPS, "all"]):
            if g == "teenager" or (m == "infant" and g == "older_child"):
                continue
            for d in A.DIMENSIONS:
                for k, metric in enumerate(METRICS):
                    value = 0.30 + 0.05 * gi + 0.01 * k + (0.1 if d == "valence" else 0.0)
                    no_ci = m == "adult" and g == "younger_child"
                    rows.append(
                        {
                            "model": m,
                            "age_group": g,
                            "dimension": d,
                            "metric": metric,
                            "value": value,
                            "ci_low": math.nan if no_ci else value - 0.07,
                            "ci_high": math.nan if no_ci else value + 0.07,
                            "seed_sd": 0.01,
                            "n_images": 100 + 10 * gi,
                            "n_subjects": 20 + gi,
                            "n_seeds": 3,
                            "ceiling": math.nan if g == "adult" else 0.9,
                        }
                    )
    return pd.DataFrame(rows)


def make_predictions(n_per_group: int = 30, seeds: int = 3) -> pd.DataFrame:
    """Both models, three seeds, no teenagers; a few annotations missing."""
    rng = np.random.default_rng(1)
    rows = []
    for m in MODELS:
        for g in ["infant", "younger_child", "older_child", "adult"]:
            n = 2 * n_per_group if g == "infant" else n_per_group
            for i in range(n):
                v, a = rng.uniform(-0.9, 0.9, size=2)
                for s in range(seeds):
                    rows.append(
                        {
                            "model": m,
                            "seed": s,
                            "image_id": f"{g}_{i:03d}",
                            "age_group": g,
                            "valence": math.nan if i == 0 else v,
                            "arousal": a,
                            "valence_pred": float(np.clip(0.7 * v + 0.1 * s, -1, 1)),
                            "arousal_pred": float(np.clip(0.7 * a - 0.1 * s, -1, 1)),
                        }
                    )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def metrics() -> pd.DataFrame:
    return make_metrics()


@pytest.fixture(scope="module")
def predictions() -> pd.DataFrame:
    return make_predictions()


def assert_png(paths: list[Path], width_mm: float, height_mm: float) -> None:
    png = next(p for p in paths if p.suffix == ".png")
    assert png.is_file() and png.stat().st_size > 1000
    with Image.open(png) as im:
        w, h = im.size
    assert abs(w - round(width_mm / 25.4 * DPI)) <= 2
    assert abs(h - round(height_mm / 25.4 * DPI)) <= 2


def layer_data(plot, geom: str) -> list[pd.DataFrame]:
    return [layer._data for layer in plot.layers if type(layer.geom).__name__ == geom]


# --------------------------------------------------------------------------------------------
# ccc_by_group_plot
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["ccc", "rmse"])
def test_ccc_by_group_plot_saves_a_png(metrics: pd.DataFrame, metric: str, tmp_path: Path) -> None:
    before = plt.get_fignums()
    plot = A.ccc_by_group_plot(metrics, GROUPS, metric=metric)
    paths = save_figure(plot, tmp_path / f"va_{metric}", DOUBLE_COLUMN_MM, 70)
    assert_png(paths, DOUBLE_COLUMN_MM, 70)
    assert plt.get_fignums() == before


def test_ccc_by_group_plot_draws_groups_in_order_and_nan_intervals_as_points(
    metrics: pd.DataFrame,
) -> None:
    plot = A.ccc_by_group_plot(metrics, GROUPS, metric="ccc")
    (points,) = layer_data(plot, "geom_point")
    (bars,) = layer_data(plot, "geom_errorbar")
    (ceiling,) = layer_data(plot, "geom_segment")
    # 'all' is left out, teenagers have no rows; the x axis follows `groups`.
    assert list(pd.unique(points.sort_values("x")["age_group"])) == [
        "infant",
        "younger_child",
        "older_child",
        "adult",
    ]
    assert list(points["model"].cat.categories) == ["infant", "adult"]
    assert list(points["dimension"].cat.categories) == ["valence", "arousal"]
    # (adult model, younger_child) has no interval: a point on each panel but no error bar.
    no_ci = (points["model"] == "adult") & (points["age_group"] == "younger_child")
    assert no_ci.sum() == 2
    assert len(bars) == len(points) - 2
    assert not ((bars["model"] == "adult") & (bars["age_group"] == "younger_child")).any()
    # One ceiling dash per dimension and group with a known ceiling (adult's is NaN).
    assert len(ceiling) == 2 * 3 and set(ceiling["y"]) == {0.9}
    assert "adult" not in set(ceiling["age_group"])


def test_ccc_by_group_plot_rejects_what_it_cannot_draw(metrics: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="ceiling"):
        A.ccc_by_group_plot(metrics.drop(columns="ceiling"), GROUPS)
    with pytest.raises(ValueError, match="no rows for metric 'icc'"):
        A.ccc_by_group_plot(metrics, GROUPS, metric="icc")
    with pytest.raises(ValueError, match="not in groups: older_child"):
        A.ccc_by_group_plot(metrics, ["infant", "younger_child", "adult"])


# --------------------------------------------------------------------------------------------
# circumplex
# --------------------------------------------------------------------------------------------


def test_circumplex_plot_saves_a_png(predictions: pd.DataFrame, tmp_path: Path) -> None:
    plot = A.circumplex_plot(predictions, GROUPS, model="infant", max_points=20)
    paths = save_figure(plot, tmp_path / "circumplex", DOUBLE_COLUMN_MM, 130)
    assert_png(paths, DOUBLE_COLUMN_MM, 130)


def test_circumplex_averages_seeds_and_drops_images_without_annotations(
    predictions: pd.DataFrame,
) -> None:
    pts = A.circumplex_points(predictions, GROUPS, model="adult", max_points=1000)
    assert list(pd.unique(pts["age_group"])) == ["infant", "younger_child", "older_child", "adult"]
    assert len(pts) == 59 + 29 * 3  # image 0 of each group lacks its valence
    assert not pts["image_id"].str.endswith("_000").any()
    row = pts.set_index("image_id").loc["adult_005"]
    src = predictions.loc[
        (predictions["model"] == "adult") & (predictions["image_id"] == "adult_005")
    ]
    assert row["n_seeds"] == 3
    assert row["valence_pred"] == pytest.approx(src["valence_pred"].mean())
    assert row["arousal"] == pytest.approx(src["arousal"].iloc[0])


def test_circumplex_subsample_is_capped_and_deterministic(predictions: pd.DataFrame) -> None:
    pts = A.circumplex_points(predictions, GROUPS, model="infant", max_points=10, seed=7)
    counts = pts.groupby("age_group").size()
    assert (counts == 10).all() and len(counts) == 4
    assert pts.groupby("age_group")["n_images"].first().to_dict() == {
        "infant": 59,
        "younger_child": 29,
        "older_child": 29,
        "adult": 29,
    }
    shuffled = predictions.sample(frac=1.0, random_state=3)
    again = A.circumplex_points(shuffled, GROUPS, model="infant", max_points=10, seed=7)
    pd.testing.assert_frame_equal(pts, again)
    other = A.circumplex_points(predictions, GROUPS, model="infant", max_points=10, seed=8)
    assert set(other["image_id"]) != set(pts["image_id"])
    # The plot draws exactly these images: one segment and two points each.
    plot = A.circumplex_plot(predictions, GROUPS, model="infant", max_points=10, seed=7)
    (segments,) = layer_data(plot, "geom_segment")
    assert sorted(segments["image_id"]) == sorted(pts["image_id"])
    (points,) = layer_data(plot, "geom_point")
    assert len(points) == 2 * len(pts)
    figure = plot.draw()
    try:
        texts = {t.get_text() for t in figure.findobj(lambda o: hasattr(o, "get_text"))}
    finally:
        plt.close(figure)
    assert {"Infant (n = 10 of 59)", "Adult (n = 10 of 29)"} <= texts


# --------------------------------------------------------------------------------------------
# affect_table
# --------------------------------------------------------------------------------------------


def test_affect_table_formats_cells_and_orders_rows(metrics: pd.DataFrame) -> None:
    table = A.affect_table(metrics, GROUPS)
    assert list(table.columns) == [
        "Model",
        "Dimension",
        "Age group",
        "n",
        "RMSE",
        "MAE",
        "Pearson r",
        "SAGR",
        "CCC",
        "CCC ceiling",
    ]
    # Models infant first, valence before arousal, groups in order, 'all' last, no teenagers.
    block = ["Infant", "Younger child", "Older child", "Adult", "All ages"]
    assert list(table["Age group"]) == block * 4
    assert list(table["Model"]) == ["Infant model"] * 10 + ["Adult model"] * 10
    assert list(table["Dimension"].iloc[:10]) == ["Valence"] * 5 + ["Arousal"] * 5
    # Infant model, valence, younger_child (gi=1), ccc (k=4): 0.30 + 0.05 + 0.04 + 0.1 = 0.49.
    cell = table.iloc[1]
    assert cell["CCC"] == "0.490 [0.420, 0.560]"
    assert cell["n"] == "110"
    assert cell["CCC ceiling"] == "0.900"
    # The infant model has no older_child rows: a row of dashes, not a missing row.
    assert (table.iloc[2, 3:] == MISSING).all()
    # No interval: the estimate alone; unknown ceiling: a dash.
    adult_yc = table.loc[
        (table["Model"] == "Adult model") & (table["Age group"] == "Younger child")
    ]
    assert adult_yc["RMSE"].iloc[0] == "0.450"
    adult = table.loc[(table["Model"] == "Adult model") & (table["Age group"] == "Adult")]
    assert (adult["CCC ceiling"] == MISSING).all()


def test_affect_table_writes_markdown_and_latex(metrics: pd.DataFrame) -> None:
    table = A.affect_table(metrics, GROUPS)
    md = to_markdown(table)
    assert "| 0.490 [0.420, 0.560] |" in md
    assert md.splitlines()[1].split("|")[5].strip().endswith(":")  # numbers right-aligned
    tex = to_latex(table, "Valence and arousal by age group", "tab:affect")
    assert r"\begin{tabular}{lllrrrrrrr}" in tex and "All ages" in tex


def test_format_estimate() -> None:
    assert A.format_estimate(0.62, 0.55, 0.69) == "0.620 [0.550, 0.690]"
    assert A.format_estimate(-0.1234, -0.2, math.nan) == "-0.123"
    assert A.format_estimate(math.nan, 0.1, 0.2) == MISSING
