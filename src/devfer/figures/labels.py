"""Labels, level orders and number formats shared by the figures and the tables.

Plain pandas only (no plotnine, no matplotlib): the tables format their cells with the same
`pretty`/`model_label` as the figures' axes and legends, so a name reads the same everywhere.
Age-group names and their order are data (`group_order`), never hard-coded; labels replace
underscores by spaces ('younger_child' -> 'Younger child').
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from devfer import CLASSES

#: Shown where a value does not exist (e.g. the test statistic of the reference fit).
MISSING = "\u2013"  # en dash
#: Models that come first, in this order, whenever they are present.
MODEL_ORDER: tuple[str, ...] = ("infant", "adult")
#: Reader-facing names of the trend fits (tables and figure legends).
FIT_NAMES: dict[str, str] = {
    "linear": "Linear",
    "quadratic": "Quadratic",
    "spline": "Natural spline",
    "logistic4": "4-parameter logistic",
}
#: Figures also name the crossover estimator (a transition-age method, not a fit).
FIT_LABELS: dict[str, str] = {
    **FIT_NAMES,
    "crossover": "Crossover: adult model overtakes infant model",
}


def pretty(name: Any) -> str:
    """Reader-facing label of a data value: underscores to spaces, first letter capitalised."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def model_label(model: Any) -> str:
    """'infant' -> 'Infant model': the models share names with age groups, so say which is which."""
    text = pretty(model)
    if re.search(r"model|estimator|net|classifier|\bvs\b", text, flags=re.IGNORECASE):
        return text
    return f"{text} model"


def model_levels(models: Iterable[Any]) -> list[str]:
    """Models in a stable order: the study's infant and adult models first, then as they appear."""
    seen = [str(m) for m in pd.unique(pd.Series(list(models), dtype=object))]
    known = [m for m in MODEL_ORDER if m in seen]
    return known + [m for m in seen if m not in known]


def require_columns(df: pd.DataFrame, columns: Iterable[str], table: str, func: str) -> None:
    """Raise ValueError naming every missing column (and empty tables)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{func}: '{table}' must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{func}: table '{table}' is missing required column(s): {', '.join(missing)}"
        )
    if df.empty:
        raise ValueError(f"{func}: table '{table}' has no rows")


def finite(value: Any) -> bool:
    """True for a finite number; False for NaN, inf, None and text (cells may be any of them)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


#: Dataset names as their authors write them; a trailing "sim" marks the embedded simulation.
_DATASET_WORDS = {
    "tif": "TIF",
    "affectnet": "AffectNet",
    "utkface": "UTKFace",
    "sim": "(simulated)",
}


def dataset_label(name: Any) -> str:
    """'affectnet_sim' -> 'AffectNet (simulated)': proper names keep their capitals."""
    words = str(name).replace("-", "_").split("_")
    return " ".join(_DATASET_WORDS.get(w.lower(), w) for w in words if w)


def pretty_all(values: Iterable[Any]) -> list[str]:
    """`pretty` over a scale's breaks (plotnine passes label functions the whole list)."""
    return [pretty(v) for v in values]


def wrap_label(label: str, width: int = 9) -> str:
    """Break a long label onto lines at spaces so neighbouring labels cannot collide."""
    return "\n".join(textwrap.wrap(label, width=width, break_long_words=False)) or label


def group_levels(df: pd.DataFrame, group_col: str = "age_group") -> list[str]:
    """Age groups ordered by `group_order`, checking the order is the same on every row."""
    pairs = df[[group_col, "group_order"]].drop_duplicates()
    if pairs[group_col].duplicated().any():
        bad = sorted(pairs.loc[pairs[group_col].duplicated(), group_col].astype(str))
        raise ValueError(f"age group(s) with more than one group_order: {', '.join(bad)}")
    return [str(g) for g in pairs.sort_values("group_order")[group_col]]


def ordered(values: pd.Series, levels: Sequence[str]) -> pd.Categorical:
    """A categorical with the given order, so plotnine draws axes and facets in that order."""
    return pd.Categorical(values.astype(str), categories=list(levels), ordered=True)


def class_levels(values: Iterable[Any]) -> list[str]:
    """Expression classes in the canonical order; unknown labels after them, as they appear."""
    seen = [str(v) for v in pd.unique(pd.Series(list(values), dtype=object))]
    return [c for c in CLASSES if c in seen] + [v for v in seen if v not in CLASSES]


def display_sort_key(groups: Sequence[str], datasets: Sequence[str]) -> Any:
    """Sort key putting datasets and age groups in their display order (labels are ordered)."""
    rank = {
        "age_group": {g: i for i, g in enumerate(groups)},
        "dataset": {d: i for i, d in enumerate(datasets)},
    }

    def key(col: pd.Series) -> pd.Series:
        if col.name in rank:
            return col.astype(str).map(rank[str(col.name)])
        return col

    return key


def percent_labels(values: Sequence[float]) -> list[str]:
    """Axis labels for proportions, as whole percent (the axis title carries the unit)."""
    return [f"{100 * v:.0f}" for v in values]


def short_number(value: float) -> str:
    """Compact hyper-parameter label: 0.001 -> '1e-3', 0.3 -> '0.3', 0 -> '0'."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if 1e-2 <= abs(value) < 1e3:
        return f"{value:g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def age_breaks(age_max: float) -> list[float]:
    """Round age ticks: every 2, 5, 10 or 20 years, whichever gives about eight of them."""
    step = next((s for s in (1, 2, 5, 10, 20, 50) if age_max / s <= 9), 100)
    return [float(v) for v in np.arange(0, age_max + 1e-9, step)]


def integer_breaks(limits: tuple[float, float]) -> list[float]:
    """At most about six whole-number ticks (epochs are counts, never 2.5)."""
    lo, hi = math.ceil(limits[0]), math.floor(limits[1])
    step = next((s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500) if (hi - lo) / s <= 6), 1000)
    start = math.ceil(lo / step) * step
    return [float(v) for v in range(int(start), hi + 1, step)] or [float(lo)]


def groups_table(groups: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The config's [{name, min, max}] boundaries as a frame (max None = open-ended)."""
    if not isinstance(groups, Sequence) or not groups:
        raise ValueError("groups must be a non-empty list of {name, min, max} mappings")
    rows = []
    for i, g in enumerate(groups):
        missing = [k for k in ("name", "min") if k not in g]
        if missing:
            raise ValueError(f"groups[{i}] is missing key(s): {', '.join(missing)}")
        hi = g.get("max")
        rows.append(
            {
                "name": str(g["name"]),
                "min": float(g["min"]),
                "max": math.inf if hi is None else float(hi),
                "order": i,
            }
        )
    return pd.DataFrame(rows)


def boundaries(groups: Sequence[Mapping[str, Any]] | None) -> list[float]:
    """Inner group boundaries (ages where one group ends and the next begins)."""
    if not groups:
        return []
    table = groups_table(groups)
    return [float(x) for x in table["min"].iloc[1:]]


def group_midpoints(
    groups: Sequence[Mapping[str, Any]], ages: pd.DataFrame | None = None
) -> dict[str, float]:
    """A representative age in years for each group, to place group results on an age axis.

    With `ages` (the ages table) it is the median predicted age of the images in the group --
    where the evidence actually lies (an open-ended adult group has no midpoint). Without it,
    or for a group with no images, it is the middle of [min, max), and for an open-ended group
    min plus half the width of the group before it.
    """
    table = groups_table(groups)
    medians: dict[str, float] = {}
    if ages is not None:
        require_columns(ages, ["age_pred", "age_group"], "ages", "group_midpoints")
        valid = ages.dropna(subset=["age_pred", "age_group"])
        medians = valid.groupby(valid["age_group"].astype(str))["age_pred"].median().to_dict()
    out: dict[str, float] = {}
    for i, row in table.iterrows():
        name = row["name"]
        if name in medians and math.isfinite(medians[name]):
            out[name] = float(medians[name])
        elif math.isfinite(row["max"]):
            out[name] = (row["min"] + row["max"]) / 2
        else:
            prev = table.iloc[i - 1] if i else None
            width = (prev["max"] - prev["min"]) if prev is not None else 10.0
            out[name] = float(row["min"] + width / 2)
    return out


def fit_label(fit: str) -> str:
    """Reader-facing name of a fit or estimator; unknown names via `pretty`."""
    return FIT_LABELS.get(fit, pretty(fit))
