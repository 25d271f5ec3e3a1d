"""Statistics for "when do expressions become adult-like?": metrics, trends and transition ages.

Everything here is a pure function of arrays or DataFrames: no file I/O, no printing. Results
are plain floats, dicts or tidy DataFrames (one row per fit or per model).

Four layers, from the per-group numbers a paper reports to the image-level evidence a
reviewer accepts:

1. **Classification metrics** (`metrics`) for one model on one age group.
2. **Group-level trend** (`trends.group_trend`, `decision.fit_published_table`): linear vs
   quadratic over the groups (their positions, or in the study their mean ages), with a
   proper nested test.
3. **Image-level trend** (`trends.image_trend`): logistic regressions of correctness on age
   with likelihood-ratio tests and subject-clustered errors.
4. **Transition age** (`transition`, `segmented`) and the documented decision rule
   (`decision.decide_trajectory`; `decision.chosen_fit` names the fit it selects).

Subject-clustered data: functions that take `clusters` give intervals that resample
subjects (or use cluster-robust covariances). Stacked seeds: functions that take `images` /
`image_col` collapse replicate seeds of one image to one row (mean correctness over seeds),
so seeds never count as extra independent images (see `_fitting._as_age_correct`).
Scales: logistic fits test linearity on the logit scale, least squares on published
accuracies (`fit_published_table` without n) on the accuracy scale; the tables say which
in their `scale` column.

`devfer.stats.analysis` is the workflow's statistics stage built on these; it is not
re-exported here (import it by its module path).
"""

from __future__ import annotations

import importlib
from typing import Any

# Names are loaded on first use (PEP 562): `trends` imports statsmodels (2 s), which jobs
# that need only a metric or a cluster code (every evaluation job) should not pay for.
_HOMES = {
    "decision": ("chosen_fit", "decide_trajectory", "fit_published_table"),
    "metrics": (
        "balanced_accuracy",
        "cluster_bootstrap_ci",
        "cohen_kappa",
        "group_metrics",
        "macro_f1",
        "per_class_recall",
        "standardised_accuracy",
        "wilson_interval",
    ),
    "peak": ("spline_peak_age",),
    "transition": ("crossover_age", "four_param_logistic", "peak_age", "segmented_logistic"),
    "trends": ("group_trend", "image_trend", "trend_curves"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'devfer.stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"devfer.stats.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
