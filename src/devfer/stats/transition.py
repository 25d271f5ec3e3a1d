"""Transition ages: where the accuracy-by-age curve bends, is halfway, peaks or crosses.

`segmented_logistic` (breakpoint of a broken-stick logistic), `four_param_logistic` (the
midpoint between the infant and adult accuracy levels, the study's transition age),
`crossover_age` (where one model overtakes another on the same images) and `peak_age`
(vertex of a quadratic logistic).

Every function takes `clusters` (subject per row: bootstrap resamples clusters) and `images`
(image id per row: replicate seeds of one image are collapsed to one row weighted by its
number of seeds, so seeds never count as extra images; see `_fitting._as_age_correct`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import special

from devfer.stats._fitting import (
    _as_age_correct,
    _boot_share_ci,
    _boot_weights,
    _logistic_fit,
    _percentile_ci,
    _z,
)
from devfer.stats.segmented import segmented_logistic

#: Below this share of bootstrap resamples with a crossing (crossover) or a maximum (peak),
#: the interval is not reported: it would describe only the resamples that agree.
MIN_BOOT_SHARE = 0.8

#: An asymptote this close to 0 or 1 sits on the edge of what an accuracy can be: the fit
#: has pushed a level to the box because the curve does not level off inside the data.
_ASYMPTOTE_EDGE = 1e-3

__all__ = ["crossover_age", "four_param_logistic", "peak_age", "segmented_logistic"]


def _fpl_unpack(theta: np.ndarray) -> tuple[float, float, float, float]:
    """theta = (t1, t2, mid, rate) -> (lower, upper, mid, rate); keeps 0 < lower < upper < 1."""
    lower = special.expit(theta[0])
    upper = lower + (1 - lower) * special.expit(theta[1])
    return float(lower), float(upper), float(theta[2]), float(theta[3])


def _fpl_p(theta: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Four-parameter logistic p(age), kept inside (0, 1) for the log-likelihood."""
    lower = special.expit(theta[0])
    upper = lower + (1 - lower) * special.expit(theta[1])
    p = lower + (upper - lower) * special.expit(theta[3] * (a - theta[2]))
    return np.clip(p, 1e-12, 1 - 1e-12, out=p)


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
    jac = np.empty((len(a), 4))
    jac[:, 0] = dl * (1 - s * e2)  # (1 - s) dl + s dl (1 - e2)
    jac[:, 1] = (1 - lower) * e2 * (1 - e2) * s
    jac[:, 2] = -rate * ds
    jac[:, 3] = (a - mid) * ds
    return np.clip(p, 1e-12, 1 - 1e-12, out=p), jac


def _bernoulli_loglik(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * (y * np.log(p) + (1 - y) * np.log1p(-p))))


def _solve4(m: np.ndarray, b: np.ndarray) -> np.ndarray:
    """m^-1 b for the damped 4 x 4 information; least squares where m is singular."""
    try:
        return np.linalg.solve(m, b)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(m, b, rcond=None)[0]


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
    # Rows of weight 0 (subjects a bootstrap resample left out) add nothing: drop them.
    used = w > 0
    if not used.all():
        a, y, w = a[used], y[used], w[used]
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
                new = np.clip(theta + _solve4(damped, grad), lo, hi)
                # The Jacobian only for a step that is taken: most trial steps are not.
                p_new = _fpl_p(new, a)
                ll_new = _bernoulli_loglik(p_new, y, w)
                if ll_new >= ll:
                    break
                lam *= 10
            if lam > 1e10:  # no ascent direction left: at a (possibly constrained) maximum
                converged = True
                break
            gain = ll_new - ll
            theta, ll = new, ll_new
            p, jac = _fpl_curve(theta, a)
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


def _fpl_bounds(
    theta: np.ndarray, lo: np.ndarray, hi: np.ndarray, lower: float, upper: float
) -> list[str]:
    """The constraints a four-parameter logistic fit sits on, in words (empty: none)."""
    on_lo = np.isclose(theta, lo, rtol=0, atol=1e-6 * (1 + np.abs(lo)))
    on_hi = np.isclose(theta, hi, rtol=0, atol=1e-6 * (1 + np.abs(hi)))
    reasons = []
    if on_lo[2] or on_hi[2]:
        reasons.append(f"midpoint {theta[2]:.2f} at the end of the age range")
    if on_lo[3] or on_hi[3]:
        reasons.append("slope at the steepest allowed")
    if on_lo[0] or lower < _ASYMPTOTE_EDGE:
        reasons.append(f"lower asymptote {lower:.3f} on its bound (0)")
    if on_hi[0] or on_hi[1] or upper > 1 - _ASYMPTOTE_EDGE:
        reasons.append(f"upper asymptote {upper:.3f} on its bound (1)")
    if on_lo[1]:
        reasons.append("the two asymptotes coincide (no change)")
    return reasons


def four_param_logistic(
    age: Any,
    correct: Any,
    clusters: Any | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    *,
    images: Any | None = None,
) -> dict[str, Any]:
    """Four-parameter logistic curve of accuracy on age; `mid` is the transition age.

        p(age) = lower + (upper - lower) / (1 + exp(-(age - mid) / scale))

    fitted by maximum Bernoulli likelihood (damped Fisher scoring from ten starts spread
    over the age range and both directions). lower < upper are the two asymptotic accuracy
    levels; scale > 0 is a rising curve, scale < 0 a falling one (then the young asymptote
    is `upper`). At age = mid the accuracy is exactly halfway between the two levels, which
    is the study's definition of the transition age. The fit works in a box: `mid` inside
    the observed age range (outside it the transition is not identified), |scale| at least
    1 % of that range, and each asymptote's logit parametrisation within +/-12 (so
    0 < lower < upper < 1). The asymptotes are the curve's, not the observed youngest/oldest
    accuracies: when the curve has not flattened inside the data, compare them with
    level_young / level_old.

    `at_bound` flags a fit on its box, with the constraints in `bound_note`: the midpoint at
    an end of the age range, the steepest allowed slope, or an asymptote on its bound (within
    0.001 of 0 or 1, or its parameter on the box). An asymptote on the box means the curve
    does not level off inside the data (e.g. accuracy rising linearly from 0.2 to 0.75 is
    fitted as the lower half of a curve heading for 1.0): the "midpoint" is then halfway to
    an extrapolated level, not a transition seen in the data.

    CI: percentile CI of mid over `n_boot` bootstrap resamples (of clusters when `clusters`
    is given, else of images), each refitted from the full-data estimate; NaN when
    n_boot = 0. `images` collapses replicate seeds (see the module docstring).

    Returns estimate (= mid), ci_low, ci_high, lower, upper, scale, loglik, method, plus
    level_young / level_old (fitted accuracy at the youngest / oldest age), at_bound,
    bound_note, converged, n (images).
    """
    a, y, w0, codes, n_cl = _as_age_correct(age, correct, clusters, images)
    lo, hi, starts = _fpl_setup(a, y)
    amin, amax = float(a.min()), float(a.max())
    theta, ll, ok = _fpl_fit(a, y, w0, starts, lo, hi)
    lower, upper, mid, rate = _fpl_unpack(theta)

    def curve(x: float) -> float:
        return lower + (upper - lower) * float(special.expit(rate * (x - mid)))

    bounds = _fpl_bounds(theta, lo, hi, lower, upper)
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
        "at_bound": bool(bounds),
        "bound_note": "; ".join(bounds),
        "converged": ok,
        "n": len(y),
    }
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        mids = np.empty(n_boot)
        for b in range(n_boot):
            w = _boot_weights(codes, n_cl, rng) * w0
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


def _paired_units(
    age: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    clusters: Any | None,
    images: Any | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Units of the crossover fit: (age, r, weight, cluster codes, clusters, units).

    Without `images` a unit is a row: r = 1 when only the second model is right, weight 1
    when the row is discordant (exactly one model right) and 0 otherwise. With `images` a
    unit is an image: over its S_i seeds, d_i are discordant and k_i of those the second
    model got right; r = k_i / d_i with weight d_i / mean(S). The weighted Bernoulli
    likelihood of q is then the stacked (image x seed) one divided by mean(S): the same
    estimate, each image counted once (with identical seeds, exactly the one-seed data).
    """
    keep = np.isfinite(age) & np.isfinite(first) & np.isfinite(second)
    cl = None if clusters is None else np.asarray(clusters, dtype=object)[keep]
    ids = None if images is None else np.asarray(images, dtype=object)[keep]
    a, y1, _, _, _ = _as_age_correct(age[keep], first[keep], None)
    y2 = _as_age_correct(age[keep], second[keep], None)[1]
    disc = (y1 != y2).astype(float)
    won = disc * y2  # discordant and the second model right
    # Collapse (disc, won) per image with the same helper that collapses correctness.
    if ids is None:
        _, _, _, codes, n_cl = _as_age_correct(a, np.zeros_like(a), cl)
        return a, won, disc, codes, n_cl, len(a)
    ua, d_mean, w_seeds, codes, n_cl = _as_age_correct(a, disc, cl, ids)
    k_mean = _as_age_correct(a, won, None, ids)[1]
    r = np.divide(k_mean, d_mean, out=np.zeros_like(k_mean), where=d_mean > 0)
    return ua, r, d_mean * w_seeds, codes, n_cl, len(ua)


def crossover_age(
    age: Any,
    first_correct: Any,
    second_correct: Any,
    clusters: Any | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    *,
    images: Any | None = None,
    min_boot_share: float = MIN_BOOT_SHARE,
) -> dict[str, Any]:
    """Age at which the second model's accuracy overtakes the first's, on the same images.

    Paired, from the discordant images (exactly one of the two models right):
    P(second right) - P(first right) = P(discordant) * (2 q - 1) with
    q = P(second right | discordant), so the two accuracies are equal exactly where q = 1/2,
    whatever the images' difficulty. q(age) is fitted as a four-parameter logistic
    (maximum likelihood) and the crossover is the age where it reaches 1/2; NaN with a
    reason when it does not inside the observed ages. It is the age at which the two models
    are equally accurate; it is not in general either model's own midpoint (halfway between
    its asymptotes): the two coincide only for mirror-image curves with equal asymptotes.

    CI: percentile over `n_boot` bootstrap resamples (of clusters when given, else of
    images); resamples without a crossing are left out, so the CI is conditional on a
    crossing. `boot_share` (also `boot_share_crossing`) is the share of resamples that had
    one; below `min_boot_share` the crossing itself is fragile and the CI is NaN, with a
    note in `reason`. `images` (image id per row, rows paired by image and seed) collapses
    replicate seeds: each image counts once, weighted by its share of discordant seeds.

    Returns estimate, ci_low, ci_high, n (images), n_discordant (images discordant in at
    least one seed), q_young / q_old (fitted q at the youngest / oldest discordant age),
    boot_share, boot_share_crossing, method, reason.
    """
    first = np.asarray(first_correct, dtype=float)
    second = np.asarray(second_correct, dtype=float)
    if first.shape != second.shape:
        raise ValueError("first_correct and second_correct must have the same length")
    a, r, wd, codes, n_cl, n_units = _paired_units(
        np.asarray(age, dtype=float), first, second, clusters, images
    )
    disc = wd > 0
    out: dict[str, Any] = {
        "estimate": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "n": n_units,
        "n_discordant": int(disc.sum()),
        "q_young": math.nan,
        "q_old": math.nan,
        "boot_share": math.nan,
        "boot_share_crossing": math.nan,
        "reason": "",
        "method": "paired crossover: 4PL of P(second right | discordant) = 1/2",
    }
    ad, yd, wdd = a[disc], r[disc], wd[disc]
    if len(ad) < 10 or ad.max() <= ad.min() or yd.min() == yd.max():
        out["reason"] = "too few discordant images, or one model right on all of them"
        return out
    lo, hi, starts = _fpl_setup(ad, yd)
    amin, amax = float(ad.min()), float(ad.max())
    theta = _fpl_fit(ad, yd, wdd, starts, lo, hi)[0]
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
            w = _boot_weights(codes, n_cl, rng)[disc] * wdd
            crossings[b] = _fpl_crossing(_fpl_fit(ad, yd, w, [theta], lo, hi)[0], 0.5, amin, amax)
        lo_ci, hi_ci, share, note = _boot_share_ci(crossings, level, min_boot_share)
        out.update(ci_low=lo_ci, ci_high=hi_ci, boot_share=share, boot_share_crossing=share)
        out["reason"] = note and f"crossing fragile: {note}"
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
    *,
    images: Any | None = None,
    min_boot_share: float = MIN_BOOT_SHARE,
) -> dict[str, Any]:
    """Age of maximum accuracy under a quadratic logistic curve.

        logit p = g0 + g1 (age - m) + g2 (age - m)^2     (m = mean age, for conditioning)
        peak    = m - g1 / (2 g2)                          (a maximum only when g2 < 0)

    NaN with a `reason` when g2 >= 0 or the vertex lies outside the observed age range.
    CI: percentile over `n_boot` cluster-bootstrap resamples. Resamples with g2 >= 0 have no
    maximum and are dropped, so the CI is conditional on a peak; `boot_share` (also
    `boot_fraction_peak`) is the share that had one. Below `min_boot_share` the peak itself is
    fragile: the CI is NaN and `reason` says why. With n_boot = 0, a delta-method Wald CI from
    the (cluster-robust when `clusters` is given) covariance:
    se^2 = grad' V grad, grad = (-1 / (2 g2), g1 / (2 g2^2)) w.r.t. (g1, g2).
    `images` collapses replicate seeds (see the module docstring).

    Returns estimate, ci_low, ci_high, method, reason, b_age, b_age2 (raw-age coefficients),
    se_delta, boot_share, boot_fraction_peak, n (images).
    """
    a, y, w0, codes, n_cl = _as_age_correct(age, correct, clusters, images)
    m = float(a.mean())
    ac = a - m
    X = np.column_stack([np.ones_like(ac), ac, ac**2])
    kw: dict[str, Any] = {}
    if clusters is not None:
        kw = {"cov_type": "cluster", "cov_kwds": {"groups": codes}}
    # Unit weights are left out so that one seed reproduces the unweighted fit exactly.
    vw = None if np.all(w0 == 1) else w0
    res = sm.GLM(y, X, family=sm.families.Binomial(), var_weights=vw).fit(**kw)
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
        "boot_share": math.nan,
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
            w = _boot_weights(codes, n_cl, rng) * w0
            bb = _logistic_fit(X, y, w, beta0)[0]
            if bb[2] < 0:
                peaks[b] = m - bb[1] / (2 * bb[2])
        lo_ci, hi_ci, share, note = _boot_share_ci(peaks, level, min_boot_share)
        out.update(ci_low=lo_ci, ci_high=hi_ci, boot_share=share, boot_fraction_peak=share)
        out["reason"] = note and f"peak fragile: {note}"
        unit = "clusters" if clusters is not None else "images"
        out["method"] = f"quadratic logistic vertex; percentile bootstrap CI ({n_boot} x {unit})"
    else:
        z = _z(level)
        out["ci_low"], out["ci_high"] = peak - z * se, peak + z * se
        out["method"] = "quadratic logistic vertex; delta-method CI"
    return out
