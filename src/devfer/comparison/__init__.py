"""The model-zoo comparison (issue 14): the field's metrics with subject-bootstrap intervals,
their spread across seeds and folds, a fairness audit by demographic group, and
subject-grouped k-fold splits. Pure functions of prediction tables; the workflow target
that trains the backbones and writes `results/comparison/*.parquet` builds on them.

Modules: ``metrics`` (one run's metrics, per-class report, confusion, mean +- SD across
replicates), ``fairness`` (per-group metrics, gaps, permutation test), ``folds``
(subject-grouped k-fold), ``weighted`` (the vectorised engine behind the resamples).
"""

from devfer.comparison.fairness import fairness_audit, group_gaps, permutation_gap_test
from devfer.comparison.folds import fold_split, subject_folds
from devfer.comparison.metrics import (
    ECE_BINS,
    SCALAR_METRICS,
    class_probabilities,
    confusion_table,
    encode,
    expected_calibration_error,
    per_class_report,
    replicate_summary,
    run_metrics,
    scalar_metrics,
    subject_bootstrap,
)

__all__ = [
    "ECE_BINS",
    "SCALAR_METRICS",
    "class_probabilities",
    "confusion_table",
    "encode",
    "expected_calibration_error",
    "fairness_audit",
    "fold_split",
    "group_gaps",
    "per_class_report",
    "permutation_gap_test",
    "replicate_summary",
    "run_metrics",
    "scalar_metrics",
    "subject_bootstrap",
    "subject_folds",
]
