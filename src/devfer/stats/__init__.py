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

from devfer.stats.decision import chosen_fit, decide_trajectory, fit_published_table
from devfer.stats.metrics import (
    balanced_accuracy,
    cluster_bootstrap_ci,
    cohen_kappa,
    group_metrics,
    macro_f1,
    per_class_recall,
    standardised_accuracy,
    wilson_interval,
)
from devfer.stats.peak import spline_peak_age
from devfer.stats.transition import (
    crossover_age,
    four_param_logistic,
    peak_age,
    segmented_logistic,
)
from devfer.stats.trends import group_trend, image_trend, trend_curves

__all__ = [
    "balanced_accuracy",
    "chosen_fit",
    "cluster_bootstrap_ci",
    "cohen_kappa",
    "crossover_age",
    "decide_trajectory",
    "fit_published_table",
    "four_param_logistic",
    "group_metrics",
    "group_trend",
    "image_trend",
    "macro_f1",
    "peak_age",
    "per_class_recall",
    "segmented_logistic",
    "spline_peak_age",
    "standardised_accuracy",
    "trend_curves",
    "wilson_interval",
]
