"""Breakpoint of a broken-stick (segmented) logistic regression of correctness on age.

`segmented_logistic` estimates where the age slope changes by profile likelihood over a grid
of breakpoints, with a profile-likelihood CI (independent images) or a cluster-bootstrap CI
(subject-clustered data, the study's case).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, stats

from devfer.stats._fitting import (
    _as_age_correct,
    _boot_weights,
    _logistic_fit,
    _logistic_fit_batch,
    _percentile_ci,
)

__all__ = ["segmented_logistic"]

#: Newton steps per fit inside the bootstrap. Each resample's fit at a breakpoint starts from
#: the full-data fit there, which is O(1/sqrt(n)) from the resample's optimum; Newton's
#: quadratic convergence makes two steps accurate to far below the estimates' standard errors,
#: at a fraction of the cost of iterating to a tolerance.
_BOOT_NEWTON_STEPS = 2

#: Bootstrap resamples search breakpoints whose full-data profile deviance is within this of
#: the best (see `_bootstrap_breakpoints`). 100 is a z of 10 for independent images: even a
#: design effect of 20 from clustering leaves the resamples' maxima well inside.
_BOOT_REGION_DEVIANCE = 100.0


def _default_grid(age: np.ndarray, step: float = 0.5) -> np.ndarray:
    """Breakpoints every `step` years between the 5th and 95th age percentiles, so both
    segments always hold data."""
    lo, hi = np.quantile(age, [0.05, 0.95])
    return np.arange(math.ceil(lo / step) * step, math.floor(hi / step) * step + 1e-9, step)


def _hinge_designs(age: np.ndarray, cs: np.ndarray) -> list[np.ndarray]:
    """Design columns 1, min(age - c, 0), max(age - c, 0) for each breakpoint c.

    This spans the same models as 1, age, max(age - c, 0) but is far better conditioned
    (the two slope columns have disjoint support, whereas age and the hinge are nearly
    collinear for breakpoints near the youngest ages), so Newton converges in a few steps.
    Coefficients: g0 = logit p at c, g1 = slope before c, g2 = slope after c.
    """
    d = age[None, :] - cs[:, None]
    return [np.ones((1, len(age))), np.minimum(d, 0.0), np.maximum(d, 0.0)]


def _segmented_profile(
    age: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    grid: np.ndarray,
    start: np.ndarray,
    *,
    refine: tuple[float, ...] = (0.1, 0.01),
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, np.ndarray]]:
    """Profile log-likelihood l(c) over the grid, then the maximiser refined.

    The refinement evaluates l(c) on successively finer sub-grids (by default 1/10 and 1/100
    of the grid step) around the best point so far, so it is deterministic and batched.
    `start` is (len(grid), 3) starting coefficients (see `_hinge_designs`); `max_iter` caps
    the Newton steps per fit. Returns (l on the grid, coefficients on the grid,
    (c_hat, l_hat, coefficients at c_hat)).
    """
    betas, ll = _logistic_fit_batch(_hinge_designs(age, grid), y, w, start, max_iter)
    i = int(np.argmax(ll))
    best = (float(grid[i]), float(ll[i]), betas[i])
    step = float(np.min(np.diff(grid)))
    for frac in refine:
        sub = best[0] + step * frac * np.arange(-10, 11)
        sub = sub[(sub >= grid[0]) & (sub <= grid[-1])]
        b_sub, l_sub = _logistic_fit_batch(
            _hinge_designs(age, sub), y, w, np.repeat(best[2][None], len(sub), axis=0), max_iter
        )
        j = int(np.argmax(l_sub))
        if l_sub[j] > best[1]:
            best = (float(sub[j]), float(l_sub[j]), b_sub[j])
    return ll, betas, best


def _bootstrap_breakpoints(
    a: np.ndarray,
    y: np.ndarray,
    w0: np.ndarray,
    codes: np.ndarray,
    n_clusters: int,
    grid: np.ndarray,
    grid_betas: np.ndarray,
    grid_ll: np.ndarray,
    n_boot: int,
    seed: int,
) -> np.ndarray:
    """Breakpoint estimates over `n_boot` cluster-bootstrap resamples.

    Each resample profiles the grid (warm-started from the full-data fits, a fixed
    `_BOOT_NEWTON_STEPS` Newton steps per breakpoint) and refines once to 1/10 of the grid
    step (0.05 y by default), finer than that being far below the interval's width. To save
    time the grid is first cut to the breakpoints whose full-data profile deviance
    2 (l_hat - l(c)) is within `_BOOT_REGION_DEVIANCE` of the best (a region many times
    wider than any plausible clustered interval); a resample whose maximum lands on the
    region's edge is profiled again over the whole grid, so the result is the full-grid one.
    200 resamples of 5,000 images take a few seconds.
    """
    inside = np.nonzero(2 * (grid_ll.max() - grid_ll) <= _BOOT_REGION_DEVIANCE)[0]
    lo, hi = int(inside.min()), int(inside.max()) + 1
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    for b in range(n_boot):
        w = _boot_weights(codes, n_clusters, rng) * w0
        c = _segmented_profile(
            a, y, w, grid[lo:hi], grid_betas[lo:hi], refine=(0.1,), max_iter=_BOOT_NEWTON_STEPS
        )[2][0]
        at_edge = (lo > 0 and c <= grid[lo]) or (hi < len(grid) and c >= grid[hi - 1])
        if at_edge:
            c = _segmented_profile(
                a, y, w, grid, grid_betas, refine=(0.1,), max_iter=_BOOT_NEWTON_STEPS
            )[2][0]
        boots[b] = c
    return boots


def segmented_logistic(
    age: Any,
    correct: Any,
    clusters: Any | None = None,
    grid: Any | None = None,
    n_boot: int = 0,
    seed: int = 0,
    level: float = 0.95,
    *,
    images: Any | None = None,
) -> dict[str, Any]:
    """Broken-stick logistic regression: where does the age slope change?

        logit p(age) = b0 + b1 age + b2 max(age - c, 0)

    The breakpoint c is estimated by profile likelihood: for each c on `grid` (default:
    0.5-year steps between the 5th and 95th age percentiles, so both segments hold data)
    the logistic model is fitted and l(c) recorded; the best grid point is refined on finer
    sub-grids (to 1/100 of the step). Profile-likelihood CI:
    {c : 2 (l(c_hat) - l(c)) <= chi2_1(level)}, the connected set around c_hat, its ends
    found by root finding between grid points (`ci_at_grid_edge` is True when the set reaches
    an end of the grid, i.e. the CI is truncated). The profile CI assumes independent images:
    for subject-clustered data it is too narrow. With `n_boot` > 0 the reported CI is
    instead the percentile CI of c_hat over bootstrap resamples of clusters (subjects) when
    `clusters` is given, else of images; the study uses it. Both are in the result
    (`profile_ci_low` / `profile_ci_high` always hold the profile CI).

    `images` (an image id per row) marks replicate seeds of one image: they are collapsed to
    one row per image, weighted by its number of seeds (see `_fitting._as_age_correct`), so
    seeds are not counted as independent images in the profile CI and are resampled together.

    Slopes are on the logit scale per year: slope_before = b1, slope_after = b1 + b2.
    The breakpoint is where the trend bends, not necessarily the "halfway" age that
    `four_param_logistic` estimates. `loglik_linear` is the plain linear logistic fit's
    (the LR statistic against it does not follow chi2 because c is not defined under the
    linear model, so no p-value is given). `n` is the number of images.
    """
    a, y, w0, codes, n_cl = _as_age_correct(age, correct, clusters, images)
    grid = _default_grid(a) if grid is None else np.sort(np.asarray(grid, dtype=float))
    if len(grid) < 3:
        raise ValueError("the breakpoint grid needs at least 3 points; give a wider age range")
    lin_beta, ll_lin = _logistic_fit(np.column_stack([np.ones_like(a), a]), y, w0)
    # Linear fit as the start at every c: g0 = b0 + b1 c, both slopes b1.
    start = np.column_stack(
        [
            lin_beta[0] + lin_beta[1] * grid,
            np.full(len(grid), lin_beta[1]),
            np.full(len(grid), lin_beta[1]),
        ]
    )
    ll, grid_betas, (c_hat, l_hat, g) = _segmented_profile(a, y, w0, grid, start)

    cut = l_hat - stats.chi2.ppf(level, 1) / 2

    def prof(c: float) -> float:
        cols = _hinge_designs(a, np.array([c]))
        return float(_logistic_fit_batch(cols, y, w0, g[None])[1][0]) - cut

    inside = ll >= cut
    # Walk out from the maximum to the first grid point below the cut on each side.
    below_left = np.nonzero((~inside) & (grid < c_hat))[0]
    below_right = np.nonzero((~inside) & (grid > c_hat))[0]
    p_lo = (
        optimize.brentq(prof, grid[below_left[-1]], c_hat, xtol=1e-3)
        if below_left.size
        else float(grid[0])
    )
    p_hi = (
        optimize.brentq(prof, c_hat, grid[below_right[0]], xtol=1e-3)
        if below_right.size
        else float(grid[-1])
    )
    edge = bool(inside[0] or inside[-1] or not below_left.size or not below_right.size)

    method = f"profile likelihood (chi2_1, {level:.0%}), grid {grid[0]:g}-{grid[-1]:g}"
    if clusters is not None:
        method += "; ignores clustering (too narrow), use n_boot"
    out: dict[str, Any] = {
        "estimate": float(c_hat),
        "ci_low": float(p_lo),
        "ci_high": float(p_hi),
        "method": method,
        "loglik": float(l_hat),
        "loglik_linear": float(ll_lin),
        "slope_before": float(g[1]),
        "slope_after": float(g[2]),
        "intercept": float(g[0] - g[1] * c_hat),  # b0: logit p at age 0 on the first segment
        "profile_ci_low": float(p_lo),
        "profile_ci_high": float(p_hi),
        "ci_at_grid_edge": edge,
        "n": len(y),
        "n_boot": 0,
    }
    if n_boot > 0:
        boots = _bootstrap_breakpoints(a, y, w0, codes, n_cl, grid, grid_betas, ll, n_boot, seed)
        out["ci_low"], out["ci_high"] = _percentile_ci(boots, level)
        unit = "clusters" if clusters is not None else "images"
        out["method"] = f"profile likelihood estimate; percentile bootstrap CI ({n_boot} x {unit})"
        out["n_boot"] = n_boot
    return out
