"""Valence-arousal regression metrics, as affective computing reports them.

RMSE, MAE, Pearson's r, SAGR (sign agreement) and Lin's CCC, per model x age group x
dimension, seed-averaged, with percentile intervals from resampling subjects. Every metric
is a function of a few sums over images (n, sum p, sum t, sum p^2, ...), so a subject
bootstrap is one matrix product of resample counts with per-subject sums.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from devfer.stats._fitting import _cluster_codes

METRICS = ("rmse", "mae", "pearson", "sagr", "ccc")
DIMENSIONS = ("valence", "arousal")
POOLED = "all"
COLUMNS = (
    "model",
    "age_group",
    "dimension",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "seed_sd",
    "n_images",
    "n_subjects",
    "n_seeds",
    "ceiling",
)

# Per-subject sums every metric is computed from. p and t are shifted by one of the seed's
# own values before squaring, so a constant column has exactly zero variance.
_SUMS = ("n", "p", "t", "pp", "tt", "pt", "d", "abs", "sq", "sign")
# A variance below this share of the mean square (rounding in sum-based moments) is zero.
_CONSTANT = 1e-12


def _pairs(pred: ArrayLike, true: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The two inputs as float arrays, without the pairs where either value is NaN."""
    p = np.asarray(pred, dtype=float)
    t = np.asarray(true, dtype=float)
    if p.ndim != 1 or p.shape != t.shape:
        raise ValueError(f"pred and true must be 1-D of one length, got {p.shape}, {t.shape}")
    keep = ~(np.isnan(p) | np.isnan(t))
    return p[keep], t[keep]


def _moments(p: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """Population (ddof=0) var(p), var(t), cov(p, t); exactly 0 for a constant input."""
    dp, dt = p - p.mean(), t - t.mean()
    const_p, const_t = np.ptp(p) == 0, np.ptp(t) == 0
    var_p = 0.0 if const_p else float(np.mean(dp * dp))
    var_t = 0.0 if const_t else float(np.mean(dt * dt))
    cov = 0.0 if const_p or const_t else float(np.mean(dp * dt))
    return var_p, var_t, cov


def rmse(pred: ArrayLike, true: ArrayLike) -> float:
    """Root mean squared error sqrt(mean((p - t)^2)) over pairs without NaN; NaN for n = 0."""
    p, t = _pairs(pred, true)
    return float(np.sqrt(np.mean((p - t) ** 2))) if p.size else np.nan


def mae(pred: ArrayLike, true: ArrayLike) -> float:
    """Mean absolute error mean(|p - t|) over pairs without NaN; NaN for n = 0."""
    p, t = _pairs(pred, true)
    return float(np.mean(np.abs(p - t))) if p.size else np.nan


def pearson(pred: ArrayLike, true: ArrayLike) -> float:
    """Pearson's r = cov(p, t) / sqrt(var(p) var(t)) over pairs without NaN.

    NaN when n < 3 (two points always lie on a line) or either input is constant.
    """
    p, t = _pairs(pred, true)
    if p.size < 3:
        return np.nan
    var_p, var_t, cov = _moments(p, t)
    if var_p == 0 or var_t == 0:
        return np.nan
    return float(np.clip(cov / np.sqrt(var_p * var_t), -1.0, 1.0))


def sagr(pred: ArrayLike, true: ArrayLike) -> float:
    """Sign agreement rate mean(sign(p) == sign(t)) over pairs without NaN; NaN for n = 0.

    Signs are numpy's (-1, 0, +1): 0 is a sign of its own, agreeing only with 0.
    """
    p, t = _pairs(pred, true)
    return float(np.mean(np.sign(p) == np.sign(t))) if p.size else np.nan


def ccc(pred: ArrayLike, true: ArrayLike) -> float:
    """Lin's concordance correlation over pairs without NaN:

        CCC = 2 cov(p, t) / (var(p) + var(t) + (mean(p) - mean(t))^2)

    with population (ddof=0) variances and covariance, as in Lin (1989) and the AVEC and
    AffectNet papers (estimators with ddof=1 differ by a factor close to 1 for large n).
    NaN when n < 2. A constant input has cov = 0, so CCC = 0 whenever the denominator is
    positive (the other input varies, or the means differ); both constant and equal is 0/0,
    NaN.
    """
    p, t = _pairs(pred, true)
    if p.size < 2:
        return np.nan
    var_p, var_t, cov = _moments(p, t)
    denom = var_p + var_t + (p.mean() - t.mean()) ** 2
    return float(2 * cov / denom) if denom > 0 else np.nan


_FUNCTIONS = {"rmse": rmse, "mae": mae, "pearson": pearson, "sagr": sagr, "ccc": ccc}


def _cluster_sums(
    pred: np.ndarray, true: np.ndarray, clusters: np.ndarray, n_clusters: int
) -> np.ndarray:
    """(n_clusters, len(_SUMS)) sums per cluster of one seed's pairs (no NaN in them)."""
    p0, t0 = (pred[0], true[0]) if pred.size else (0.0, 0.0)
    ps, ts, d = pred - p0, true - t0, pred - true
    columns = (
        np.ones_like(pred),
        ps,
        ts,
        ps * ps,
        ts * ts,
        ps * ts,
        d,
        np.abs(d),
        d * d,
        (np.sign(pred) == np.sign(true)).astype(float),
    )
    return np.stack([np.bincount(clusters, c, minlength=n_clusters) for c in columns], axis=-1)


def _from_sums(sums: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric from sums over pairs (last axis in `_SUMS` order), elementwise.

    The same formulas as the functions above, written with moments of the sums; a variance
    under `_CONSTANT` times its mean square counts as zero (a constant input).
    """
    n, sp, st, spp, stt, spt, sd, sabs, ssq, ssign = np.moveaxis(sums, -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mp, mt = sp / n, st / n
        var_p, var_t = spp / n - mp * mp, stt / n - mt * mt
        const_p = var_p <= _CONSTANT * spp / n
        const_t = var_t <= _CONSTANT * stt / n
        var_p = np.where(const_p, 0.0, var_p)
        var_t = np.where(const_t, 0.0, var_t)
        cov = np.where(const_p | const_t, 0.0, spt / n - mp * mt)
        r = np.clip(cov / np.sqrt(var_p * var_t), -1.0, 1.0)
        denom = var_p + var_t + (sd / n) ** 2
        concordance = 2 * cov / denom
        return {
            "rmse": np.where(n > 0, np.sqrt(ssq / n), np.nan),
            "mae": np.where(n > 0, sabs / n, np.nan),
            "pearson": np.where((n >= 3) & ~const_p & ~const_t, r, np.nan),
            "sagr": np.where(n > 0, ssign / n, np.nan),
            "ccc": np.where((n >= 2) & (denom > 0), concordance, np.nan),
        }


def _resample_counts(n_clusters: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_clusters) times each cluster is drawn in each resample of n_clusters draws
    with replacement."""
    draws = rng.integers(0, n_clusters, size=(n_boot, n_clusters))
    flat = (np.arange(n_boot)[:, None] * n_clusters + draws).ravel()
    return np.bincount(flat, minlength=n_boot * n_clusters).reshape(n_boot, n_clusters)


def _interval(replicates: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of the finite replicates; NaN when none or over half are NaN."""
    finite = np.isfinite(replicates)
    if replicates.size == 0 or 2 * (~finite).sum() > replicates.size:
        return np.nan, np.nan
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(replicates[finite], [tail, 100 - tail])
    return float(lo), float(hi)


def _stream(seed: int, *names: object) -> np.random.Generator:
    """A generator for one cell, fixed by the seed and the cell's names (not Python's hash)."""
    return np.random.default_rng([seed, *(zlib.crc32(str(x).encode()) for x in names)])


def _cell(
    cell: pd.DataFrame, dim: str, n_boot: int, level: float, rng: np.random.Generator
) -> list[dict[str, object]]:
    """One row per metric for one model x group x dimension (`cell` holds only valid pairs)."""
    images = cell.drop_duplicates("image_id")
    subjects = images["subject_id"].to_numpy(dtype=object) if "subject_id" in images else None
    clusters, n_clusters = _cluster_codes(len(images), subjects)
    row_cluster = clusters[pd.Index(images["image_id"]).get_indexer(cell["image_id"])]
    seeds = sorted(cell["seed"].unique())
    per_seed, sums = [], []
    for s in seeds:
        mask = (cell["seed"] == s).to_numpy()
        p = cell.loc[mask, f"{dim}_pred"].to_numpy(dtype=float)
        t = cell.loc[mask, dim].to_numpy(dtype=float)
        per_seed.append([_FUNCTIONS[m](p, t) for m in METRICS])
        sums.append(_cluster_sums(p, t, row_cluster[mask], n_clusters))
    values = np.array(per_seed)  # (seeds, metrics)
    if n_boot > 0 and n_clusters >= 2:
        counts = _resample_counts(n_clusters, n_boot, rng).astype(float)
        boot = _from_sums(counts[None] @ np.stack(sums))  # metric -> (seeds, n_boot)
        intervals = {m: _interval(boot[m].mean(axis=0), level) for m in METRICS}
    else:
        intervals = dict.fromkeys(METRICS, (np.nan, np.nan))
    truth = f"{dim}_truth"
    has_truth = truth in images and images[truth].notna().any()
    rows = []
    for k, m in enumerate(METRICS):
        ceiling = (
            _FUNCTIONS[m](images[truth].to_numpy(dtype=float), images[dim].to_numpy(dtype=float))
            if has_truth
            else np.nan
        )
        rows.append(
            {
                "metric": m,
                "value": float(values[:, k].mean()),
                "ci_low": intervals[m][0],
                "ci_high": intervals[m][1],
                "seed_sd": float(values[:, k].std(ddof=1)) if len(seeds) > 1 else np.nan,
                "n_images": len(images),
                "n_subjects": n_clusters,
                "n_seeds": len(seeds),
                "ceiling": ceiling,
            }
        )
    return rows


def affect_metrics(
    predictions: pd.DataFrame,
    groups: Sequence[str],
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Valence-arousal metrics per model x age group x dimension x metric, seeds averaged.

    `predictions` has one row per model x seed x image: `model`, `seed` (absent: one seed),
    `image_id`, `subject_id` (missing: the image is its own subject), `age_group`, and per
    dimension d in `DIMENSIONS` the annotation `d` (NaN: none), the prediction `d_pred` and,
    optionally, the noise-free `d_truth`. Groups are those of `groups` with data, in that
    order, then "all" (every listed group pooled). A pair is used when both `d` and
    `d_pred` are present; a model or dimension without predictions gives no rows.

    - value: mean over seeds of the metric on that seed's pairs (NaN if any seed's is NaN);
    - ci_low, ci_high: `level` percentile interval over `n_boot` resamples of the cell's
      subjects with replacement (a subject drawn twice counts twice), each resample
      recomputing every seed's metric and averaging over seeds; NaN with n_boot = 0, under
      2 subjects, or over half the resamples undefined. Same seed, same interval;
    - seed_sd: SD (ddof=1) of the per-seed values, NaN with one seed;
    - n_images, n_subjects, n_seeds: distinct images, subjects (an image without one counts
      as its own) and seeds with a pair in the cell;
    - ceiling: the metric of `d_truth` against `d` on the cell's images, what a perfect
      model scores against noisy labels (NaN without `d_truth`).
    """
    groups = list(groups)
    if POOLED in groups:
        raise ValueError(f"{POOLED!r} is the pooled group; no age group may have that name")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    frame = predictions if "seed" in predictions else predictions.assign(seed=0)
    frame = frame[frame["age_group"].isin(groups)]
    rows: list[dict[str, object]] = []
    for model, part in frame.groupby("model", sort=True):
        valid = {}
        for dim in DIMENSIONS:
            if dim not in part or f"{dim}_pred" not in part:
                continue
            keep = part[dim].notna() & part[f"{dim}_pred"].notna()
            if keep.any():
                valid[dim] = part[keep]
        for group in [*groups, POOLED]:
            for dim, pairs in valid.items():
                cell = pairs if group == POOLED else pairs[pairs["age_group"] == group]
                if cell.empty:
                    continue
                rng = _stream(seed, model, group, dim)
                for r in _cell(cell, dim, n_boot, level, rng):
                    rows.append({"model": model, "age_group": group, "dimension": dim, **r})
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return table.astype({"n_images": int, "n_subjects": int, "n_seeds": int})
