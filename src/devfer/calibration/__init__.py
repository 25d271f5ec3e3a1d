"""The calibration study: the analysis itself checked on simulated outcomes with a known truth.

No images: correctness outcomes are drawn from known accuracy-by-age curves, with subject
clustering, seed-to-seed variation of the trained models and the study's own design, and the
study's own analysis (`devfer.stats.analysis.analyse`, `devfer.evaluate.metrics.cross_group`)
runs on them. Every published interval is scored for coverage and width, every verdict for
its false-positive rate or power (`devfer.calibration.stage`).
"""
