"""Training variance in the study's intervals: replicate seeds combined with the subject bootstrap.

A trained model is one draw of the training procedure; another seed (or another CPU type)
trains a different one. The subject bootstrap describes the sampling of test faces for the
models at hand, so with one seed an interval leaves training out (issue 13: two machines gave
crossovers of 8.53 y [7.84, 9.15] and 7.14 y [6.57, 7.72]).

With S >= 2 seeds each estimate is also made on every seed alone, and each side of its
interval becomes

    half-width = sqrt(h_side^2 + (t(S - 1) * sd_seeds / sqrt(S))^2),

where h_side is that side's half-width of the subject bootstrap on the seed-averaged data (so
the interval keeps the bootstrap's asymmetry) and sd_seeds the SD of the per-seed estimates:
the bootstrap interval and the seeds' own t interval for their mean, added in quadrature.
Satterthwaite's pooled degrees of freedom were measured and rejected: with three seeds they
under-cover (0.92 where the seed spread is 15 times the test sampling's variance) because a
seed spread that is small by chance buys many degrees of freedom; this rule covered
0.955-0.979 over every ratio of the two (by simulation; see tests/test_seeds.py).
Seeds share the test faces, so their common sampling error is in the bootstrap once; the
part of the seed spread that is each seed's own test noise is counted twice, which errs on
the wide side and is small when the seeds err on the same faces.
The estimand is the seed-averaged model: the training procedure's expected curve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def seed_interval(
    estimate: float,
    ci_low: float,
    ci_high: float,
    per_seed: Sequence[float],
    level: float = 0.95,
    limits: tuple[float, float] | None = None,
) -> tuple[float, float, float]:
    """(low, high, between-seed SD): the within-seed interval widened by training variance.

    `per_seed` are the estimates of each seed alone; NaNs (a seed without, say, a crossing)
    are left out. Fewer than two finite seeds, or a missing estimate or bound, return the
    interval unchanged with a NaN SD. `limits` clip the result (accuracies to [0, 1]).
    """
    values = np.asarray(per_seed, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2 or not all(map(math.isfinite, (estimate, ci_low, ci_high))):
        return ci_low, ci_high, math.nan
    s = len(values)
    # Seeds that agree to rounding error (identical models fitted in another row order) agree.
    same = np.ptp(values) <= 1e-9 * max(1.0, abs(estimate))
    if same:
        return ci_low, ci_high, 0.0
    between = float(values.var(ddof=1)) / s
    seeds_half = float(stats.t.ppf(0.5 + level / 2, s - 1)) * math.sqrt(between)
    bounds = []
    for half, sign in ((estimate - ci_low, -1.0), (ci_high - estimate, 1.0)):
        bounds.append(estimate + sign * math.hypot(max(half, 0.0), seeds_half))
    lo, hi = bounds
    if limits is not None:
        lo, hi = max(lo, limits[0]), min(hi, limits[1])
    return lo, hi, math.sqrt(between * s)


def widen(
    table: pd.DataFrame,
    per_seed: Sequence[pd.DataFrame],
    keys: Sequence[str],
    intervals: Sequence[tuple[str, str, str]],
    level: float = 0.95,
    limits: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """`table` with every (estimate, low, high) column triple in `intervals` widened by the
    spread of the estimate over the `per_seed` tables (same columns, one table per seed, rows
    matched on `keys`), and a `<estimate>_seed_sd` column per triple. Fewer than two seed
    tables: `table` unchanged but for NaN SD columns."""
    out = table.copy()
    for est, _, _ in intervals:
        out[f"{est}_seed_sd"] = np.nan
    if len(per_seed) < 2 or out.empty:
        return out
    keys = list(keys)
    for est, lo, hi in intervals:
        merged = out[keys].copy()
        for i, part in enumerate(per_seed):
            if {*keys, est} <= set(part.columns):  # a seed with too little data has no rows
                one = part[[*keys, est]].drop_duplicates(keys).rename(columns={est: f"_s{i}"})
                merged = merged.merge(one, on=keys, how="left")
            else:
                merged[f"_s{i}"] = np.nan
        values = merged[[f"_s{i}" for i in range(len(per_seed))]].to_numpy(float)
        new = [
            seed_interval(e, low, high, v, level, limits)
            for e, low, high, v in zip(out[est], out[lo], out[hi], values, strict=True)
        ]
        out[lo] = [n[0] for n in new]
        out[hi] = [n[1] for n in new]
        out[f"{est}_seed_sd"] = [n[2] for n in new]
    return out


def interval_scope(n_seeds: int) -> str:
    """What the study's intervals cover, for the tables' `interval_scope` / `ci_method`."""
    if n_seeds < 2:
        return (
            f"test faces only: training variance not included ({n_seeds} trained seed; "
            "train at least 3 seeds to include it)"
        )
    return (
        f"test faces and training: subject bootstrap within seeds combined with the "
        f"spread of {n_seeds} seeds (t, {n_seeds - 1} df)"
    )


def n_seeds(table: pd.DataFrame) -> int:
    """The number of trained seeds a table's intervals hold (its `n_seeds`; 1 without one)."""
    if "n_seeds" in table and table["n_seeds"].notna().any():
        return int(table["n_seeds"].max())
    return 1


def interval_label(n_seeds: int, level: str = "95% CI") -> str:
    """A figure legend's name for an interval: whether it holds training variance."""
    if n_seeds < 2:
        return f"{level}, test faces only (1 seed)"
    return f"{level}, test faces and {n_seeds} seeds"
