"""Simulated correctness outcomes from known accuracy-by-age curves: one study at a time.

A study has subjects of known ages, each with a few test images, scored by an infant model
(accuracy falling with age) and an adult model (rising), each trained `seeds` times. Three
sources of variation, as in the real study: which subjects are sampled, how far a subject
strays from the curve (clustering), and which model the training produced (a trained model's
curve is the true curve shifted in age by N(0, seed_shift_sd) and in level by
N(0, seed_level_sd)); its seeds err on the same faces as often as `seed_agreement` says.
Every subject's deviation averages to zero, so the curves below are the
population accuracy exactly: the truths the analysis is scored against.

Two scenarios also score each image's expression_off control rendering (issue 12): the
control's curves are face shape alone, and the observed curves add an expression effect
that is a logistic step in age (or nothing), so the expression-effect transition and the
decomposition are scored against a known truth too. A trained model is one model scoring
both renderings: the same shift and level, and the same faces' luck as often as
`control_agreement` says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from devfer import CLASSES
from devfer.ages.groups import AgeGroup, bucket
from devfer.calibration.settings import SCENARIOS, CalibrationSettings

Curve = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Scenario:
    """Both models' true accuracy curves and what the analysis should find."""

    name: str
    infant: Curve
    adult: Curve
    nonlinear: bool  # the true curves bend on the logit scale
    midpoint: float  # both models' four-parameter logistic midpoint (NaN: none)
    crossover: float  # where the curves cross (NaN: none)
    peak: float  # the adult model's peak age (NaN: none)
    # The expression_off control's curves (face shape alone) where the scenario scores one.
    infant_control: Curve | None = None
    adult_control: Curve | None = None
    # Where the expression effect is half way, for each model and both (NaN: no effect).
    effect_midpoint: float = float("nan")

    def curves(self) -> tuple[tuple[str, Curve, Curve | None], ...]:
        """(model, observed curve, control curve or None) for both models."""
        return (
            ("infant", self.infant, self.infant_control),
            ("adult", self.adult, self.adult_control),
        )

    def control(self) -> Scenario | None:
        """The scenario of the control renderings (their curves as the observed), if any."""
        if self.infant_control is None or self.adult_control is None:
            return None
        return Scenario(
            f"{self.name} control", self.infant_control, self.adult_control, False,
            *(float("nan"),) * 3,
        )  # fmt: skip


#: What the expression effect costs each model where the display is not yet adult-like
#: (accuracy points at age 0): the default study measured about 12 (adult model) and 20
#: (infant model, which gains) against its expression_off control.
EFFECT_SIZE = {"infant": 0.20, "adult": 0.12}


def scenario(name: str, settings: CalibrationSettings) -> Scenario:
    """The truths: flat, linear on the logit, a logistic transition, a rise and fall, and two
    with face shape: `shape_only` (the linear curves, and a control that scores exactly as
    the observed faces do in expectation) and `shape_and_expression` (those curves as the
    control, plus an expression effect stepping at the midpoint).

    The transition's size is `settings.levels` (accuracy before and after) and its steepness
    `settings.transition_scale`; the other scenarios are fixed."""
    m, peak = settings.midpoint, settings.peak
    nan = float("nan")
    width = settings.transition_scale
    # Linear on the logit: 0.55 -> 0.13 and 0.27 -> 0.86 over 0-70 y; they cross at 17.1 y.
    infant_lin = lambda a: special.expit(0.2 - 0.03 * a)  # noqa: E731
    adult_lin = lambda a: special.expit(-1.0 + 0.04 * a)  # noqa: E731
    if name == "flat":
        return Scenario(
            name, lambda a: np.full_like(a, 0.45), lambda a: np.full_like(a, 0.6), False, nan,
            nan, nan,
        )  # fmt: skip
    if name == "linear":
        return Scenario(name, infant_lin, adult_lin, False, nan, 1.2 / 0.07, nan)
    if name == "shape_only":
        return Scenario(
            name, infant_lin, adult_lin, False, nan, 1.2 / 0.07, nan, infant_lin, adult_lin
        )
    if name == "shape_and_expression":
        # Share of the display still infant-like: 1 in infancy, 0 in adults.
        young = lambda a: special.expit(-(a - m) / width)  # noqa: E731
        infant = lambda a: infant_lin(a) + EFFECT_SIZE["infant"] * young(a)  # noqa: E731
        adult = lambda a: adult_lin(a) - EFFECT_SIZE["adult"] * young(a)  # noqa: E731
        return Scenario(name, infant, adult, True, nan, nan, nan, infant_lin, adult_lin, m)
    low, high = settings.levels
    if name == "transition":
        # Mirror images with equal asymptotes: both midpoints and the crossover are at m.
        infant = lambda a: low + (high - low) * special.expit(-(a - m) / width)  # noqa: E731
        adult = lambda a: low + (high - low) * special.expit((a - m) / width)  # noqa: E731
        return Scenario(name, infant, adult, True, m, m, nan)
    if name == "rise_fall":
        infant = lambda a: low + (high - low) * special.expit(-(a - m) / width)  # noqa: E731
        adult = lambda a: special.expit(-1.2 + 2.4 * np.exp(-(((a - peak) / 12.0) ** 2)))  # noqa: E731
        return Scenario(name, infant, adult, True, nan, nan, peak)
    raise ValueError(f"unknown calibration scenario {name!r}; valid: {', '.join(SCENARIOS)}")


@dataclass(frozen=True)
class Design:
    """Who is in a study: each subject's age and number of test images."""

    ages: np.ndarray
    images: np.ndarray

    @classmethod
    def default(cls, settings: CalibrationSettings, rng: np.random.Generator) -> Design:
        n = settings.subjects
        child = rng.random(n) < settings.child_share
        ages = np.where(child, rng.uniform(0, 18, n), rng.uniform(18, 70, n))
        return cls(ages, np.full(n, settings.images_per_subject))

    @classmethod
    def of_study(cls, predictions: pd.DataFrame) -> Design:
        """The design of a study's own predictions: its subjects, ages and images."""
        one = predictions.drop_duplicates("image_id")
        subject = one["subject_id"].astype(object).where(one["subject_id"].notna(), one["image_id"])
        per = (
            one.assign(subject=subject)
            .groupby("subject")
            .agg(age=("age", "mean"), images=("image_id", "size"))
        )
        per = per[per["age"].notna()]
        return cls(per["age"].to_numpy(float), per["images"].to_numpy(int))

    def resample(self, rng: np.random.Generator) -> Design:
        """A new study of the same design: subjects drawn with replacement."""
        pick = rng.integers(0, len(self.ages), len(self.ages))
        return Design(self.ages[pick], self.images[pick])


def _training(settings: CalibrationSettings, rng: np.random.Generator) -> Callable[[Curve], Curve]:
    """One trained model: it shifts any true curve in age and level by training's randomness."""
    shift = rng.normal(0.0, settings.seed_shift_sd)
    level = rng.normal(0.0, settings.seed_level_sd)
    return lambda curve: lambda a: np.clip(curve(a - shift) + level, 0.005, 0.995)


def _trained(curve: Curve, settings: CalibrationSettings, rng: np.random.Generator) -> Curve:
    """One trained model's curve: the true curve shifted by training's randomness."""
    return _training(settings, rng)(curve)


def simulate_study(
    truth: Scenario,
    design: Design,
    groups: Sequence[AgeGroup],
    settings: CalibrationSettings,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """A prediction table as the evaluate stage writes it (eligible images of both models,
    all seeds stacked): model, seed, image_id, subject_id, dataset, age, age_group, label,
    pred, correct, eligible; and `correct_expression_off`, the same model's correctness on
    the image's control rendering, where the scenario has controls."""
    subject = np.repeat(np.arange(len(design.ages)), design.images)
    age = design.ages[subject]
    n = len(age)
    image_id = np.array([f"img{k:06d}" for k in range(n)])
    classes = np.asarray(CLASSES)
    k = rng.integers(0, len(classes), n)
    label = classes[k]
    wrong = classes[(k + rng.integers(1, len(classes), n)) % len(classes)]  # any other class
    spread = rng.uniform(-settings.subject_spread, settings.subject_spread, len(design.ages))
    frames = []
    for model, curve, control in truth.curves():
        # Seeds err on the same faces: each seed keeps the image's shared draw with
        # probability sqrt(seed_agreement), so two seeds' correctness correlates by that much.
        shared, keep = rng.random(n), np.sqrt(settings.seed_agreement)
        for seed in range(settings.seeds):
            trained = _training(settings, rng)

            def chance(curve: Curve, trained: Callable[[Curve], Curve] = trained) -> np.ndarray:
                p = trained(curve)(age)
                # The subject's own deviation, mean zero and inside [0, 1].
                return p + spread[subject] * np.minimum(p, 1 - p)

            draw = np.where(rng.random(n) < keep, shared, rng.random(n))
            correct = draw < chance(curve)
            extra = {}
            if control is not None:
                same = rng.random(n) < settings.control_agreement  # its own draw: corr = p
                extra["correct_expression_off"] = np.where(same, draw, rng.random(n)) < chance(
                    control
                )
            frames.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "seed": seed,
                        "image_id": image_id,
                        "subject_id": [f"s{s:05d}" for s in subject],
                        "dataset": "calibration",
                        "age": age,
                        "age_group": bucket(age, groups),
                        "label": label,
                        "pred": np.where(correct, label, wrong),
                        "correct": correct,
                        "eligible": True,
                        **extra,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def true_group_accuracy(
    truth: Scenario,
    design: Design,
    groups: Sequence[AgeGroup],
    settings: CalibrationSettings,
    rng: np.random.Generator,
    draws: int = 400,
) -> pd.DataFrame:
    """Each model's expected accuracy per age group: over the design's images and over
    training's randomness (the intervals' target when training varies)."""
    ages = np.repeat(design.ages, design.images)
    names = bucket(ages, groups)
    rows = []
    for model, curve in (("infant", truth.infant), ("adult", truth.adult)):
        total = np.zeros(len(ages))
        for _ in range(draws):
            total += _trained(curve, settings, rng)(ages)
        mean = total / draws
        for g in groups:
            inside = names == g.name
            if inside.any():
                rows.append({"model": model, "age_group": g.name, "truth": mean[inside].mean()})
    return pd.DataFrame(rows)
