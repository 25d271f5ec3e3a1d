"""Training variance in the study's intervals: replicate seeds combined with the subject bootstrap.

A trained model is one draw of the training procedure; another seed (or another CPU type)
trains a different one. The subject bootstrap describes the sampling of test faces for the
models at hand, so with one seed an interval leaves training out (issue 13: two machines gave
crossovers of 8.53 y [7.84, 9.15] and 7.14 y [6.57, 7.72]).

With S >= 2 seeds each estimate is also made on every seed alone, and each side of its
interval becomes

    half-width = sqrt((c * h_side)^2 + (t(S - 1) * sd_seeds / sqrt(S))^2),

where h_side is that side's half-width of the subject bootstrap on the seed-averaged data (so
the interval keeps the bootstrap's asymmetry), sd_seeds the SD of the per-seed estimates, and
c^2 the share of the bootstrap's variance that every seed shares. Seeds are scored on the
same test faces; a seed's estimate errs by a part all seeds share (which faces were sampled)
and a part of its own (the faces it alone gets wrong), and the seeds' spread already holds the
own part. So the bootstrap enters with only the shared part: with V_1 the bootstrap variance
of one seed's estimate and V_p that of the seed average, the own part is
(V_1 - V_p) * S / (S - 1) and the shared part V_p - (V_1 - V_p) / (S - 1) (variances from the
interval widths; without one seed's interval, c = 1). The shared part, known from many
resamples, takes the normal quantile; the seeds' spread, from S - 1 degrees of freedom, the t.
Neither side is ever narrower than the bootstrap's own: the seed average varies at least as
much as the test faces make it (a spread small by chance would otherwise give, with two
seeds, an interval a tenth of the bootstrap's).

Measured by simulation over every mix of the three variances (tests/test_seeds.py; issue 13):
this rule covered 0.94-0.98 with three seeds (0.98 only where the seeds err on entirely
different faces, far from the 0.6 agreement measured). It is Banerjee's interval, conservative
by design where the two parts are of similar size (0.955-0.976 even with no own part).
Counting the own part twice (c = 1) covered up to 0.993 where seeds err on different faces;
subtracting the own part from the seed spread instead under-covered to 0.91 where training
dominates (a shifted chi-square has too much mass near zero for the t quantile).
Satterthwaite's pooled degrees of freedom under-covered (0.92): a seed spread that is small
by chance buys many degrees of freedom.
The estimand is the seed-averaged model: the training procedure's expected curve.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


def shared_share(
    ci_low: float, ci_high: float, single: tuple[float, float] | None, n_seeds: int
) -> float:
    """c^2 of the module docstring: the share of the seed average's bootstrap variance that
    every seed shares, from its interval and one seed's own (`single`: low, high, same
    bootstrap). 1 without a usable single-seed interval or when that one is no wider."""
    if single is None or n_seeds < 2 or not all(map(math.isfinite, (ci_low, ci_high, *single))):
        return 1.0
    pooled = (ci_high - ci_low) ** 2
    own = (single[1] - single[0]) ** 2 - pooled  # (V_1 - V_p), in squared widths
    if pooled <= 0 or own <= 0:
        return 1.0
    return max(0.0, 1.0 - own / ((n_seeds - 1) * pooled))


def seed_interval(
    estimate: float,
    ci_low: float,
    ci_high: float,
    per_seed: Sequence[float],
    level: float = 0.95,
    limits: tuple[float, float] | None = None,
    single: tuple[float, float] | None = None,
) -> tuple[float, float, float]:
    """(low, high, between-seed SD): the within-seed interval widened by training variance.

    `per_seed` are the estimates of each seed alone; NaNs (a seed without, say, a crossing)
    are left out. `single` is one seed's own interval from the same bootstrap (low, high):
    it tells how much of the bootstrap's width each seed's own errors make, which the seeds'
    spread already holds. Fewer than two finite seeds, or a missing estimate or bound, return
    the interval unchanged with a NaN SD. `limits` clip the result (accuracies to [0, 1]).
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
    shared = math.sqrt(shared_share(ci_low, ci_high, single, s))
    bounds = []
    for half, sign in ((estimate - ci_low, -1.0), (ci_high - estimate, 1.0)):
        half = max(half, 0.0)
        # Never narrower than the bootstrap: the seed average varies at least that much.
        bounds.append(estimate + sign * max(half, math.hypot(shared * half, seeds_half)))
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
    single: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """`table` with every (estimate, low, high) column triple in `intervals` widened by the
    spread of the estimate over the `per_seed` tables (same columns, one table per seed, rows
    matched on `keys`), and a `<estimate>_seed_sd` column per triple. `single` is one seed's
    table with its own intervals (see `seed_interval`). Fewer than two seed tables: `table`
    unchanged but for NaN SD columns."""
    out = table.copy()
    for est, _, _ in intervals:
        out[f"{est}_seed_sd"] = np.nan
    if len(per_seed) < 2 or out.empty:
        return out
    keys = list(keys)
    for est, lo, hi in intervals:
        values = np.column_stack([_matched(out[keys], part, [est]) for part in per_seed])
        bounds = _matched(out[keys], single, [lo, hi])
        new = [
            seed_interval(e, low, high, v, level, limits, (b[0], b[1]))
            for e, low, high, v, b in zip(out[est], out[lo], out[hi], values, bounds, strict=True)
        ]
        out[lo] = [n[0] for n in new]
        out[hi] = [n[1] for n in new]
        out[f"{est}_seed_sd"] = [n[2] for n in new]
    return out


def _matched(rows: pd.DataFrame, part: pd.DataFrame | None, columns: list[str]) -> np.ndarray:
    """`columns` of one seed's table for each of `rows` (its key columns), NaN where that
    seed has no such row or none of the columns (a seed with too little data has no rows)."""
    keys = list(rows.columns)
    if part is None or not {*keys, *columns} <= set(part.columns):
        return np.full((len(rows), len(columns)), np.nan)
    one = part[[*keys, *columns]].drop_duplicates(keys)
    return rows.merge(one, on=keys, how="left")[columns].to_numpy(float)


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


@dataclass(frozen=True)
class SeedTable:
    """How one table holds training variance: rows matched on `keys`, each (estimate, low,
    high) triple in `intervals` widened, clipped to `limits`."""

    keys: tuple[str, ...]
    intervals: tuple[tuple[str, str, str], ...]
    limits: tuple[float, float] | None = None


def hold_training_variance(
    tables: Mapping[str, pd.DataFrame],
    specs: Mapping[str, SeedTable],
    seeds: Sequence[Any],
    estimate: Callable[[Any, bool], Mapping[str, pd.DataFrame]],
    level: float = 0.95,
) -> dict[str, pd.DataFrame]:
    """`tables` (made on every seed's data together) with their intervals widened by the
    spread over seeds. `estimate(seed, with_intervals)` makes the same tables on one seed's
    data alone; the first seed's also with its intervals, from the same bootstrap, for the
    shared share of `seed_interval`. Empty tables stay as they are; with one seed the others
    get NaN `<estimate>_seed_sd` columns."""
    per_seed = [estimate(s, i == 0) for i, s in enumerate(seeds)] if len(seeds) > 1 else []
    out = {}
    for name, table in tables.items():
        spec = specs[name]
        if table.empty:
            out[name] = table
            continue
        parts = [p[name] for p in per_seed if name in p]
        single = per_seed[0].get(name) if per_seed else None
        out[name] = widen(table, parts, spec.keys, spec.intervals, level, spec.limits, single)
    return out
