"""The evaluate stage: each model's predictions on every age group's held-out faces.

`predictions` guards against train/test leakage (eligibility) and tabulates class
probabilities; `metrics` scores them per model and age group; `stage` holds the rules' entries.
"""
