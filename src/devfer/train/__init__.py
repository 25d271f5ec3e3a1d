"""The train stage: expression models (ResNet + combined distance loss) and the grid search.

`settings` (no torch) describes a model; `expression` holds the network and loss, `loop`
the resumable training loop shared with the age estimator, `stage` the rules' entry points.
"""
