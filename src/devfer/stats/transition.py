"""Transition ages: where the accuracy-by-age curve bends, is halfway, peaks or crosses.

`segmented_logistic` (breakpoint of a broken-stick logistic), `four_param_logistic` (the
midpoint between the infant and adult accuracy levels, the study's transition age),
`crossover_age` (where one model overtakes another on the same images) and `peak_age`
(vertex of a quadratic logistic).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import optimize, special, stats

from devfer.stats._fitting import (
    _as_age_correct,
    _boot_weights,
    _logistic_fit,
    _logistic_fit_batch,
    _percentile_ci,
    _z,
)

__all__ = ["crossover_age", "four_param_logistic", "peak_age", "segmented_logistic"]


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
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, np.ndarray]]:
    """Profile log-likelihood l(c) over the grid, then the maximiser refined.

    The refinement evaluates l(c) on two successively finer sub-grids (1/10 and 1/100 of
    the grid step) around the best grid point, so it is deterministic and batched.
    `start` is (len(grid), 3) starting coefficients (see `_hinge_designs`). Returns
    (l on the grid, coefficients on the grid, (c_hat, l_hat, coefficients at c_hat)).
    """
    betas, ll = _logistic_fit_batch(_hinge_designs(age, grid), y, w, start)
    i = int(np.argmax(ll))
    best = (float(grid[i]), float(ll[i]), betas[i])
    step = float(np.min(np.diff(grid)))
    for frac in (0.1, 0.01):
        sub = best[0] + step * frac * np.arange(-10, 11)
        sub = sub[(sub >= grid[0]) & (sub <= grid[-1])]
        b_sub, l_sub = _logistic_fit_batch(
            _hinge_designs(age, sub), y, w, np.repeat(best[2][None], len(sub), axis=0)
        )
        j = int(np.argmax(l_sub))
        if l_sub[j] > best[1]:
            best = (float(sub[j]), float(l_sub[j]), b_sub[j])
    return ll, betas, best


def segmented_logistic(
    age: Any,
    correct: Any,
    clusters: Any | None = None,
    grid: Any | None = None,
    n_boot: int = 0,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Broken-stick logistic regression: where does the age slope change?

        logit p(age) = b0 + b1 age + b2 max(age - c, 0)

    The breakpoint c is estimated by profile likelihood: for each c on `grid` (default:
    0.5-year steps between the 5th and 95th age percentiles, so both segments hold data)
    the logistic model is fitted and l(c) recorded; the best grid point is refined on finer
    sub-grids (to 1/100 of the step). Profile-likelihood CI:
    {c : 2 (l(c_hat) - l(c)) <= chi2_1(level)}, the connected set around c_hat, its ends
    found by root finding between grid points (`ci_at_grid_edge` is True when the set reaches
    an end of the grid, i.e. the CI is truncated). With `n_boot` > 0 the reported CI is
    instead the percentile CI of c_hat over bootstrap resamples (of clusters when `clusters`
    is given, else of images); use it for subject-clustered data, for which the profile CI,
    which assumes independent images, is too narrow. Both are in the result.

    Slopes are on the logit scale per year: slope_before = b1, slope_after = b1 + b2.
    The breakpoint is where the trend bends, not necessarily the "halfway" age that
    `four_param_logistic` estimates. `loglik_linear` is the plain linear logistic fit's
    (the LR statistic against it does not follow chi2 because c is not defined under the
    linear model, so no p-value is given).
    """
    a, y, codes, n_cl = _as_age_correct(age, correct, clusters)
    grid = _default_grid(a) if grid is None else np.sort(np.asarray(grid, dtype=float))
    if len(grid) < 3:
        raise ValueError("the breakpoint grid needs at least 3 points; give a wider age range")
    lin_beta, ll_lin = _logistic_fit(np.column_stack([np.ones_like(a), a]), y)
    # Linear fit as the start at every c: g0 = b0 + b1 c, both slopes b1.
    start = np.column_stack(
        [
            lin_beta[0] + lin_beta[1] * grid,
            np.full(len(grid), lin_beta[1]),
            np.full(len(grid), lin_beta[1]),
        ]
    )
    ll, grid_betas, (c_hat, l_hat, g) = _segmented_profile(a, y, None, grid, start)

    cut = l_hat - stats.chi2.ppf(level, 1) / 2

    def prof(c: float) -> float:
        cols = _hinge_designs(a, np.array([c]))
        return float(_logistic_fit_batch(cols, y, None, g[None])[1][0]) - cut

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

    out: dict[str, Any] = {
        "estimate": float(c_hat),
        "ci_low": float(p_lo),
        "ci_high": float(p_hi),
        "method": f"profile likelihood (chi2_1, {level:.0%}), grid {grid[0]:g}-{grid[-1]:g}",
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
        rng = np.random.default_rng(seed)
        boots = np.empty(n_boot)
        for b in range(n_boot):
            w = _boot_weights(codes, n_cl, rng)
            # Warm start from the full-data fit at every grid point.
            boots[b] = _segmented_profile(a, y, w, grid, grid_betas)[2][0]
        out["ci_low"], out["ci_high"] = _percentile_ci(boots, level)
        unit = "clusters" if clusters is not None else "images"
        out["method"] = f"profile likelihood estimate; percentile bootstrap CI ({n_boot} x {unit})"
        out["n_boot"] = n_boot
    return out


def _fpl_unpack(theta: np.ndarray) -> tuple[float, float, float, float]:
    """theta = (t1, t2, mid, rate) -> (lower, upper, mid, rate); keeps 0 < lower < upper < 1."""
    lower = special.expit(theta[0])
    upper = lower + (1 - lower) * special.expit(theta[1])
    return float(lower), float(upper), float(theta[2]), float(theta[3])


def _fpl_curve(theta: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Four-parameter logistic p(age) and its Jacobian dp/dtheta, shape (n, 4)."""
    t1, t2, mid, rate = theta
    lower = special.expit(t1)
    e2 = special.expit(t2)
    upper = lower + (1 - lower) * e2
    s = special.expit(rate * (a - mid))
    p = lower + (upper - lower) * s
    dl = lower * (1 - lower)
    ds = (upper - lower) * s * (1 - s)
    jac = np.column_stack(
        [
            (1 - s) * dl + s * dl * (1 - e2),
            s * (1 - lower) * e2 * (1 - e2),
            -rate * ds,
            (a - mid) * ds,
        ]
    )
    return np.clip(p, 1e-12, 1 - 1e-12), jac


def _bernoulli_loglik(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * (y * np.log(p) + (1 - y) * np.log1p(-p))))


def _fpl_fit(
    a: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    starts: Sequence[np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    max_iter: int = 100,
) -> tuple[np.ndarray, float, bool]:
    """Maximum-likelihood four-parameter logistic: best of Levenberg-damped Fisher scoring
    runs from each start, steps projected onto the box [lo, hi].

    Fisher scoring uses the expected information I = J' diag(w / (p (1 - p))) J and score
    g = J' (w (y - p) / (p (1 - p))); the step solves (I + lambda diag(I)) d = g, with lambda
    raised until the log-likelihood does not fall. A handful of iterations from a warm
    start, which keeps the bootstrap cheap.
    """
    best: tuple[np.ndarray, float, bool] | None = None
    for x0 in starts:
        theta = np.clip(np.asarray(x0, dtype=float), lo, hi)
        p, jac = _fpl_curve(theta, a)
        ll = _bernoulli_loglik(p, y, w)
        lam, converged = 1e-3, False
        for _ in range(max_iter):
            v = w / (p * (1 - p))
            grad = jac.T @ (v * (y - p))
            info = (jac * v[:, None]).T @ jac
            while lam <= 1e10:
                damped = info + lam * np.diag(np.diag(info) + 1e-12)
                new = np.clip(theta + np.linalg.lstsq(damped, grad, rcond=None)[0], lo, hi)
                p_new, jac_new = _fpl_curve(new, a)
                ll_new = _bernoulli_loglik(p_new, y, w)
                if ll_new >= ll:
                    break
                lam *= 10
            if lam > 1e10:  # no ascent direction left: at a (possibly constrained) maximum
                converged = True
                break
            gain = ll_new - ll
            theta, p, jac, ll = new, p_new, jac_new, ll_new
            lam = max(lam / 10, 1e-9)
            # Log-likelihood gains this small move the estimates by far less than their SEs.
            if gain < 1e-8 * (1 + abs(ll)):
                converged = True
                break
        if best is None or ll > best[1]:
            best = (theta, ll, converged)
    assert best is not None
    return best


def _fpl_setup(a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Box constraints (lo, hi) and starting points of a four-parameter logistic fit.

    The midpoint is kept inside the observed ages (outside them it is not identified) and
    |rate| at most 100 / age span; the starts spread over the age range in both directions,
    so a falling curve is not fitted as a rising one stuck at a local optimum.
    """
    amin, amax = float(a.min()), float(a.max())
    if amax <= amin:
        raise ValueError("age must vary")
    span = amax - amin
    max_rate = 100 / span
    lo = np.array([-12.0, -12.0, amin, -max_rate])
    hi = np.array([12.0, 12.0, amax, max_rate])
    q20, q80 = np.quantile(a, [0.2, 0.8])
    young = float(y[a <= q20].mean())
    old = float(y[a >= q80].mean())
    lo0 = float(np.clip(min(young, old) - 0.02, 0.01, 0.97))
    hi0 = float(np.clip(max(young, old) + 0.02, lo0 + 0.01, 0.99))
    t1 = special.logit(lo0)
    t2 = special.logit(np.clip((hi0 - lo0) / (1 - lo0), 0.01, 0.99))
    starts = [
        np.array([t1, t2, m, sgn * 10 / span])
        for m in np.quantile(a, [0.2, 0.35, 0.5, 0.65, 0.8])
        for sgn in (1.0, -1.0)
    ]
    return lo, hi, starts


def four_param_logistic(
    age: Any,
    correct: Any,
    clusters: Any | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Four-parameter logistic curve of accuracy on age; `mid` is the transition age.

        p(age) = lower + (upper - lower) / (1 + exp(-(age - mid) / scale))

    fitted by maximum Bernoulli likelihood (damped Fisher scoring from ten starts spread
    over the age range and both directions). lower < upper are the two asymptotic accuracy
    levels; scale > 0 is a rising curve, scale < 0 a falling one (then the young asymptote
    is `upper`). At age = mid the accuracy is exactly halfway between the two levels, which
    is the study's definition of the transition age. `mid` is constrained to the observed
    age range (outside it the transition is not identified) and |scale| to at least 1 % of
    that range; `at_bound` flags an estimate on a constraint. The asymptotes are the
    curve's, not the observed youngest/oldest accuracies: when the curve has not flattened
    inside the data, compare them with level_young / level_old.

    CI: percentile CI of mid over `n_boot` bootstrap resamples (of clusters when `clusters`
    is given, else of images), each refitted from the full-data estimate; NaN when
    n_boot = 0.

    Returns estimate (= mid), ci_low, ci_high, lower, upper, scale, loglik, method, plus
    level_young / level_old (fitted accuracy at the youngest / oldest age), at_bound,
    converged, n.
    """
    a, y, codes, n_cl = _as_age_correct(age, correct, clusters)
    lo, hi, starts = _fpl_setup(a, y)
    amin, amax, max_rate = float(a.min()), float(a.max()), float(hi[3])
    theta, ll, ok = _fpl_fit(a, y, np.ones_like(y), starts, lo, hi)
    lower, upper, mid, rate = _fpl_unpack(theta)

    def curve(x: float) -> float:
        return lower + (upper - lower) * float(special.expit(rate * (x - mid)))

    at_bound = bool(
        np.isclose(mid, amin) or np.isclose(mid, amax) or np.isclose(abs(rate), max_rate)
    )
    out: dict[str, Any] = {
        "estimate": mid,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "lower": lower,
        "upper": upper,
        "scale": 1 / rate if rate != 0 else math.inf,
        "loglik": ll,
        "method": "maximum likelihood (Bernoulli); no CI (n_boot=0)",
        "level_young": curve(amin),
        "level_old": curve(amax),
        "at_bound": at_bound,
        "converged": ok,
        "n": len(y),
    }
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        mids = np.empty(n_boot)
        for b in range(n_boot):
            w = _boot_weights(codes, n_cl, rng)
            mids[b] = _fpl_fit(a, y, w, [theta], lo, hi)[0][2]
        out["ci_low"], out["ci_high"] = _percentile_ci(mids, level)
        unit = "clusters" if clusters is not None else "images"
        out["method"] = (
            f"maximum likelihood (Bernoulli); percentile bootstrap CI ({n_boot} x {unit})"
        )
    return out


def _fpl_crossing(theta: np.ndarray, level: float, amin: float, amax: float) -> float:
    """Age at which a fitted four-parameter logistic equals `level`; NaN when it never does
    inside [amin, amax]."""
    lower, upper, mid, rate = _fpl_unpack(theta)
    if rate == 0 or not lower < level < upper:
        return math.nan
    x = mid + float(special.logit((level - lower) / (upper - lower))) / rate
    return x if amin <= x <= amax else math.nan


def crossover_age(
    age: Any,
    first_correct: Any,
    second_correct: Any,
    clusters: Any | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Age at which the second model's accuracy overtakes the first's, on the same images.

    Paired, from the discordant images (exactly one of the two models right):
    P(second right) - P(first right) = P(discordant) * (2 q - 1) with
    q = P(second right | discordant), so the two accuracies are equal exactly where q = 1/2,
    whatever the images' difficulty. q(age) is fitted as a four-parameter logistic
    (maximum likelihood) and the crossover is the age where it reaches 1/2; NaN with a
    reason when it does not inside the observed ages. CI: percentile over `n_boot`
    bootstrap resamples (of clusters when given, else of images); resamples without a
    crossing are left out and counted in `boot_share_crossing`.

    Returns estimate, ci_low, ci_high, n (images), n_discordant, q_young / q_old (fitted
    q at the youngest / oldest discordant age), boot_share_crossing, method, reason.
    """
    first = np.asarray(first_correct, dtype=float)
    second = np.asarray(second_correct, dtype=float)
    if first.shape != second.shape:
        raise ValueError("first_correct and second_correct must have the same length")
    age = np.asarray(age, dtype=float)
    keep = np.isfinite(age) & np.isfinite(first) & np.isfinite(second)
    cl = None if clusters is None else np.asarray(clusters, dtype=object)[keep]
    a, y1, _, _ = _as_age_correct(age[keep], first[keep], None)
    _, y2, codes, n_cl = _as_age_correct(age[keep], second[keep], cl)
    disc = y1 != y2
    out: dict[str, Any] = {
        "estimate": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "n": len(a),
        "n_discordant": int(disc.sum()),
        "q_young": math.nan,
        "q_old": math.nan,
        "boot_share_crossing": math.nan,
        "reason": "",
        "method": "paired crossover: 4PL of P(second right | discordant) = 1/2",
    }
    ad, yd = a[disc], y2[disc]
    if len(ad) < 10 or ad.max() <= ad.min() or yd.min() == yd.max():
        out["reason"] = "too few discordant images, or one model right on all of them"
        return out
    lo, hi, starts = _fpl_setup(ad, yd)
    amin, amax = float(ad.min()), float(ad.max())
    theta = _fpl_fit(ad, yd, np.ones_like(yd), starts, lo, hi)[0]
    q = _fpl_curve(theta, np.array([amin, amax]))[0]
    out["q_young"], out["q_old"] = float(q[0]), float(q[1])
    out["estimate"] = _fpl_crossing(theta, 0.5, amin, amax)
    if math.isnan(out["estimate"]):
        out["reason"] = "the two accuracies do not cross inside the observed ages"
        return out
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        crossings = np.empty(n_boot)
        for b in range(n_boot):
            w = _boot_weights(codes, n_cl, rng)[disc]
            crossings[b] = _fpl_crossing(_fpl_fit(ad, yd, w, [theta], lo, hi)[0], 0.5, amin, amax)
        out["ci_low"], out["ci_high"] = _percentile_ci(crossings, level)
        out["boot_share_crossing"] = float(np.isfinite(crossings).mean())
        unit = "clusters" if clusters is not None else "images"
        out["method"] += f"; percentile bootstrap CI ({n_boot} x {unit})"
    return out


def peak_age(
    age: Any,
    correct: Any,
    clusters: Any | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Age of maximum accuracy under a quadratic logistic curve.

        logit p = g0 + g1 (age - m) + g2 (age - m)^2     (m = mean age, for conditioning)
        peak    = m - g1 / (2 g2)                          (a maximum only when g2 < 0)

    NaN with a `reason` when g2 >= 0 or the vertex lies outside the observed age range.
    CI: percentile over `n_boot` cluster-bootstrap resamples (resamples with g2 >= 0 have no
    maximum and are dropped; `boot_fraction_peak` says how many kept one, and a fraction well
    below 1 means the peak is fragile). With n_boot = 0, a delta-method Wald CI from the
    (cluster-robust when `clusters` is given) covariance:
    se^2 = grad' V grad, grad = (-1 / (2 g2), g1 / (2 g2^2)) w.r.t. (g1, g2).

    Returns estimate, ci_low, ci_high, method, reason, b_age, b_age2 (raw-age coefficients),
    se_delta, boot_fraction_peak, n.
    """
    a, y, codes, n_cl = _as_age_correct(age, correct, clusters)
    m = float(a.mean())
    ac = a - m
    X = np.column_stack([np.ones_like(ac), ac, ac**2])
    kw: dict[str, Any] = {}
    if clusters is not None:
        kw = {"cov_type": "cluster", "cov_kwds": {"groups": codes}}
    res = sm.GLM(y, X, family=sm.families.Binomial()).fit(**kw)
    g0, g1, g2 = (float(v) for v in res.params)
    out: dict[str, Any] = {
        "estimate": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "method": "quadratic logistic vertex",
        "reason": "",
        "b_age": g1 - 2 * g2 * m,
        "b_age2": g2,
        "se_delta": math.nan,
        "boot_fraction_peak": math.nan,
        "n": len(y),
    }
    if g2 >= 0:
        out["reason"] = f"quadratic term is not negative (b_age2 = {g2:.3g}): no maximum"
        return out
    peak = m - g1 / (2 * g2)
    if not a.min() <= peak <= a.max():
        out["reason"] = (
            f"vertex at {peak:.2f} lies outside the observed ages [{a.min():.2f}, {a.max():.2f}]"
        )
        return out
    grad = np.array([0.0, -1 / (2 * g2), g1 / (2 * g2**2)])
    se = float(np.sqrt(grad @ np.asarray(res.cov_params()) @ grad))
    out.update(estimate=float(peak), se_delta=se)
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        peaks = np.full(n_boot, math.nan)
        beta0 = np.array([g0, g1, g2])
        for b in range(n_boot):
            w = _boot_weights(codes, n_cl, rng)
            bb = _logistic_fit(X, y, w, beta0)[0]
            if bb[2] < 0:
                peaks[b] = m - bb[1] / (2 * bb[2])
        out["ci_low"], out["ci_high"] = _percentile_ci(peaks, level)
        out["boot_fraction_peak"] = float(np.mean(np.isfinite(peaks)))
        unit = "clusters" if clusters is not None else "images"
        out["method"] = f"quadratic logistic vertex; percentile bootstrap CI ({n_boot} x {unit})"
    else:
        z = _z(level)
        out["ci_low"], out["ci_high"] = peak - z * se, peak + z * se
        out["method"] = "quadratic logistic vertex; delta-method CI"
    return out
