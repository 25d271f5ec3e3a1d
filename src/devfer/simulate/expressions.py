"""Expressions as "action unit" (AU) vectors: adult prototypes, infant configurations and the
age-dependent mix of the two (:func:`expression_config`) that the renderer draws."""

from __future__ import annotations

import numpy as np

from devfer import CLASSES
from devfer.simulate.truth import expression_weight

#: Expression parameters, loosely modelled on FACS action units.  Signed ones go both ways.
AU_NAMES: tuple[str, ...] = (
    "brow_raise",  # AU1+2 (+: whole brow up) / AU4 lowering (-)
    "brow_inner",  # +: inner corners up (oblique "sad" brows), -: inner corners down (V shape)
    "brow_knit",  # AU4 medial pull: brows drawn together, vertical glabella lines
    "eye_open",  # AU5 upper-lid raise (+) / AU7 lid tightening, squint (-)
    "cheek_raise",  # AU6: cheeks up, lower lid pushed up, crow's feet
    "nose_wrinkle",  # AU9/10: wrinkled bridge, flared nostrils, upper lip raised
    "mouth_open",  # AU25/26/27: lips part, jaw drops
    "mouth_corner",  # AU12 corners up (+) / AU15 corners down (-)
    "mouth_stretch",  # AU20 horizontal stretch, squared mouth (+) / AU18 pucker, pout (-)
    "lip_press",  # AU23/24: lips pressed thin
)
_AU = {name: i for i, name in enumerate(AU_NAMES)}
SIGNED_AU = np.array(
    [
        name in {"brow_raise", "brow_inner", "eye_open", "mouth_corner", "mouth_stretch"}
        for name in AU_NAMES
    ]
)


def _vec(**values: float) -> np.ndarray:
    """Build an AU vector from keyword values; unnamed AUs are zero."""
    out = np.zeros(len(AU_NAMES))
    for name, value in values.items():
        out[_AU[name]] = value
    out.setflags(write=False)
    return out


#: Adult prototypes (FACS-like descriptions of the prototypical displays).
ADULT_CONFIGS: dict[str, np.ndarray] = {
    "angry": _vec(
        brow_raise=-0.7,
        brow_inner=-0.9,
        brow_knit=0.9,
        eye_open=0.35,
        mouth_corner=-0.2,
        mouth_stretch=-0.15,
        nose_wrinkle=0.1,
        lip_press=0.9,
    ),
    "disgust": _vec(
        brow_raise=-0.35,
        brow_inner=-0.3,
        brow_knit=0.45,
        eye_open=-0.35,
        cheek_raise=0.4,
        nose_wrinkle=1.0,
        mouth_open=0.12,
        mouth_corner=-0.45,
        mouth_stretch=0.15,
    ),
    "fear": _vec(
        brow_raise=0.75,
        brow_inner=0.7,
        brow_knit=0.6,
        eye_open=1.0,
        mouth_open=0.4,
        mouth_corner=-0.2,
        mouth_stretch=0.9,
    ),
    "happy": _vec(
        brow_raise=0.1,
        eye_open=-0.35,
        cheek_raise=1.0,
        mouth_open=0.35,
        mouth_corner=1.0,
        mouth_stretch=0.45,
    ),
    "sad": _vec(
        brow_inner=0.95,
        brow_knit=0.4,
        eye_open=-0.3,
        mouth_corner=-0.9,
        mouth_stretch=-0.1,
        lip_press=0.3,
    ),
    "surprise": _vec(
        brow_raise=1.0, brow_inner=0.2, eye_open=1.0, mouth_open=0.9, mouth_stretch=-0.35
    ),
    "neutral": _vec(),
}

#: Infant-specific configurations (after Oster's and Camras' descriptions of infant displays):
#: distress/anger is the cry face, surprise is a jaw drop without brow raise, sadness a pout,
#: fear a frozen wide-eyed stare, disgust a gape with nose wrinkle, joy an open-mouth smile.
INFANT_SPECIFIC: dict[str, np.ndarray] = {
    "angry": _vec(
        brow_raise=-0.7,
        brow_inner=-0.6,
        brow_knit=1.0,
        eye_open=-0.9,
        cheek_raise=0.9,
        nose_wrinkle=0.6,
        mouth_open=0.9,
        mouth_corner=-0.3,
        mouth_stretch=0.9,
    ),
    "disgust": _vec(
        brow_raise=-0.2,
        brow_knit=0.3,
        eye_open=-0.6,
        cheek_raise=0.2,
        nose_wrinkle=0.8,
        mouth_open=0.5,
        mouth_corner=-0.6,
        mouth_stretch=-0.5,
    ),
    "fear": _vec(
        brow_raise=0.3,
        brow_inner=0.3,
        brow_knit=0.5,
        eye_open=0.9,
        mouth_open=0.08,
        mouth_corner=-0.3,
        lip_press=0.6,
    ),
    "happy": _vec(
        brow_raise=0.4,
        eye_open=0.15,
        cheek_raise=0.35,
        mouth_open=0.85,
        mouth_corner=0.7,
        mouth_stretch=0.2,
    ),
    "sad": _vec(
        brow_raise=-0.2,
        brow_inner=-0.1,
        brow_knit=0.5,
        eye_open=-0.5,
        cheek_raise=0.3,
        mouth_corner=-1.0,
        mouth_stretch=-0.8,
        lip_press=0.2,
    ),
    "surprise": _vec(eye_open=0.3, mouth_open=1.0, mouth_stretch=-0.6),
    "neutral": _vec(brow_raise=0.3, eye_open=0.3, mouth_open=0.25, mouth_stretch=-0.3),
}


#: Circumplex positions (valence, arousal) of the adult prototypes at full intensity, as in
#: AffectNet's annotations.
ADULT_VALENCE_AROUSAL: dict[str, tuple[float, float]] = {
    "angry": (-0.55, 0.65), "disgust": (-0.65, 0.35), "fear": (-0.6, 0.75),
    "happy": (0.75, 0.4), "sad": (-0.65, -0.3), "surprise": (0.15, 0.75),
    "neutral": (0.0, 0.0),
}  # fmt: skip
#: ... and of the infant-specific configurations, as an annotator would place them: the cry
#: face is high-arousal distress, the pout and the gape less aroused than their adult
#: counterparts, the frozen stare less negative, the jaw drop less aroused, the open-mouth
#: smile as positive and more aroused. The simulation's assumption, not a measurement.
INFANT_VALENCE_AROUSAL: dict[str, tuple[float, float]] = {
    "angry": (-0.7, 0.8), "disgust": (-0.5, 0.25), "fear": (-0.4, 0.5),
    "happy": (0.8, 0.55), "sad": (-0.5, -0.1), "surprise": (0.05, 0.45),
    "neutral": (0.0, 0.05),
}  # fmt: skip


def displayed_valence_arousal(
    expression: np.ndarray, adult_share: np.ndarray, intensity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free (valence, arousal) of what a face displays: the circumplex position of the
    displayed configuration (`adult_share` of the adult prototype, the rest of the infant
    configuration, as `expression_config` draws it) scaled by the intensity."""
    share = np.asarray(adult_share, dtype=float)
    scale = np.asarray(intensity, dtype=float)
    out = []
    for k in range(2):
        adult = np.array([ADULT_VALENCE_AROUSAL[e][k] for e in expression])
        infant = np.array([INFANT_VALENCE_AROUSAL[e][k] for e in expression])
        out.append(scale * (share * adult + (1.0 - share) * infant))
    return out[0], out[1]


def check_expression(expression: str) -> None:
    if expression not in CLASSES:
        raise ValueError(
            f"unknown expression {expression!r}; valid expressions are: {', '.join(CLASSES)}"
        )


def expression_config(
    expression: str,
    age: float,
    *,
    midpoint: float = 10.0,
    steepness: float = 0.8,
    infant_similarity: float = 0.3,
) -> np.ndarray:
    """AU vector of ``expression`` at ``age``: ``(1 - w) * infant + w * adult``.

    ``infant = infant_similarity * adult + (1 - infant_similarity) * INFANT_SPECIFIC`` so that the
    simulated infant display shares a tunable part of the adult one, which is what controls how
    hard the infant classes are for an adult-trained classifier.
    """
    check_expression(expression)
    adult = ADULT_CONFIGS[expression]
    infant = infant_similarity * adult + (1.0 - infant_similarity) * INFANT_SPECIFIC[expression]
    w = float(expression_weight(age, midpoint, steepness))
    return (1.0 - w) * infant + w * adult
