"""The study's true developmental curves, apart from any drawing.

``w(age)`` (:func:`expression_weight`) is how far each expression has moved from its infant
configuration to the adult prototype; :func:`adult_share` is the adult part of the displayed
configuration, and :func:`transition_age` the age at which that part is one half: the number
the pipeline has to recover. :func:`truth_curve` tabulates all three for the answer key.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def expression_weight(
    age: float | np.ndarray, midpoint: float = 10.0, steepness: float = 0.8
) -> float | np.ndarray:
    """Developmental weight ``w(age) = 1 / (1 + exp(-steepness * (age - midpoint)))``.

    ``0`` means the infant configuration, ``1`` the adult prototype; the logistic form gives the
    study a single interpretable "age of adult-likeness" (``midpoint``).  Works on arrays.
    """
    a = np.asarray(age, dtype=float)
    # Written with tanh so that extreme ages neither overflow nor lose precision.
    w = 0.5 * (1.0 + np.tanh(0.5 * steepness * (a - midpoint)))
    return float(w) if w.ndim == 0 else w


def adult_share(
    age: float | np.ndarray,
    midpoint: float = 10.0,
    steepness: float = 0.8,
    infant_similarity: float = 0.3,
) -> float | np.ndarray:
    """Share of the adult prototype in the displayed configuration: ``s + (1 - s) * w(age)``.

    The infant configuration already holds ``s = infant_similarity`` of the adult one (see
    :func:`expression_config`), so the display is half adult-like before ``w`` reaches 0.5.
    """
    return infant_similarity + (1.0 - infant_similarity) * expression_weight(
        age, midpoint, steepness
    )


def transition_age(
    midpoint: float = 10.0, steepness: float = 0.8, infant_similarity: float = 0.3
) -> float:
    """The true transition: the age at which the display is half adult-like.

    Solves ``adult_share(age) = 0.5``: ``midpoint + logit((0.5 - s) / (1 - s)) / steepness``,
    which is ``midpoint`` itself only when ``s = 0``. NaN when ``s >= 0.5`` (never below half).
    """
    if infant_similarity >= 0.5:
        return float("nan")
    w = (0.5 - infant_similarity) / (1.0 - infant_similarity)
    return float(midpoint + math.log(w / (1.0 - w)) / steepness)


def truth_curve(
    midpoint: float,
    steepness: float,
    infant_similarity: float = 0.0,
    step: float = 0.1,
    expression_development: bool = True,
) -> pd.DataFrame:
    """The true developmental curve on a grid: w(age), the adult share of the display and
    the true transition age (where that share is one half), with the parameters beside it.

    Without expression development every age displays the adult prototypes: the adult share
    is 1 throughout and there is no transition (NaN).
    """
    age = np.round(np.arange(0.0, 70.0 + step / 2, step), 6)
    shown = infant_similarity if expression_development else 1.0
    return pd.DataFrame(
        {
            "age": age,
            "w": expression_weight(age, midpoint, steepness),
            "adult_share": adult_share(age, midpoint, steepness, shown),
            "midpoint": midpoint,
            "steepness": steepness,
            "infant_similarity": infant_similarity,
            "expression_development": expression_development,
            "transition_age": transition_age(midpoint, steepness, shown),
        }
    )
