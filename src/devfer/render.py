"""Procedural face renderer: simulated faces of any age (0-70 y) with one of seven expressions.

The study asks *when* children's facial expressions become adult-like, so every render is
controlled by two separable ingredients:

* **morphology** (:func:`morphology`): head and feature proportions that change smoothly and
  monotonically with age (growth 0-18 y, ageing 20-70 y), modulated by a stable per-person
  :class:`Identity`;
* **expression** (:func:`expression_config`): an "action unit" (AU) vector that interpolates
  between an infant-specific configuration and the adult prototype of the class along a logistic
  developmental curve (:func:`expression_weight`).

The faces are drawn as polygons in a face-local coordinate system (origin at the centre of the
eye line, y pointing down, 1 unit = half the adult cheek-to-cheek width) mapped through a single
similarity transform (the :class:`Pose`).  Because every feature goes through the same transform,
the five landmarks returned with each render are exact ground truth.  Rendering has three layers:

1. hard-edged shapes (hair, head, eyes, brows, lips, teeth...) on a 2x supersampled Pillow
   canvas, anti-aliased by a 2x box reduction;
2. thin dark marks (wrinkles, folds, lid creases) on a grey-level layer at the same resolution;
3. soft low-frequency shading (eye sockets, nose shadows, cheeks, highlights, rim darkening,
   directional key light) from analytic Gaussian blobs at output resolution, clipped to the head.

That soft structure is what detectors trained on photographs (MTCNN) key on, and building it
analytically instead of with image blurs keeps a 128 px render at about 10 ms of CPU time.  The
module is pure: no file I/O, and all randomness comes from the ``rng`` argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from devfer import CLASSES

__all__ = [
    "ADULT_CONFIGS",
    "AU_NAMES",
    "HAIR_STYLES",
    "INFANT_SPECIFIC",
    "Identity",
    "Pose",
    "Rendered",
    "expression_config",
    "expression_weight",
    "morphology",
    "render_face",
    "sample_identity",
    "sample_pose",
]

# --------------------------------------------------------------------------------------------
# Expression parameters ("action units")
# --------------------------------------------------------------------------------------------

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
_SIGNED = np.array(
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


def _check_expression(expression: str) -> None:
    if expression not in CLASSES:
        raise ValueError(
            f"unknown expression {expression!r}; valid expressions are: {', '.join(CLASSES)}"
        )


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
    _check_expression(expression)
    adult = ADULT_CONFIGS[expression]
    infant = infant_similarity * adult + (1.0 - infant_similarity) * INFANT_SPECIFIC[expression]
    w = float(expression_weight(age, midpoint, steepness))
    return (1.0 - w) * infant + w * adult


# --------------------------------------------------------------------------------------------
# Identity, pose, morphology
# --------------------------------------------------------------------------------------------

_SKIN_PALETTE = np.array(
    [
        (0.98, 0.85, 0.76),
        (0.95, 0.78, 0.66),
        (0.90, 0.71, 0.57),
        (0.82, 0.61, 0.46),
        (0.71, 0.50, 0.36),
        (0.58, 0.40, 0.28),
        (0.45, 0.30, 0.20),
        (0.35, 0.23, 0.16),
    ]
)
_HAIR_PALETTE = {
    "black": (0.07, 0.06, 0.05),
    "dark_brown": (0.17, 0.11, 0.07),
    "brown": (0.32, 0.20, 0.11),
    "light_brown": (0.50, 0.36, 0.21),
    "blond": (0.80, 0.66, 0.42),
    "auburn": (0.52, 0.24, 0.11),
}
_EYE_PALETTE = {
    "dark_brown": (0.20, 0.12, 0.07),
    "brown": (0.36, 0.21, 0.10),
    "hazel": (0.46, 0.36, 0.18),
    "green": (0.30, 0.43, 0.28),
    "blue": (0.32, 0.48, 0.66),
    "grey": (0.46, 0.50, 0.55),
}
HAIR_STYLES: tuple[str, ...] = ("short", "buzz", "medium", "long", "bangs", "curly")


@dataclass(frozen=True)
class Identity:
    """Stable traits of one simulated person; everything age-dependent lives in :func:`morphology`.

    Multiplicative shape factors are ~1.0 so that identity varies independently of age and sex.
    """

    sex: str
    skin_tone: tuple[float, float, float]
    hair_color: tuple[float, float, float]
    hair_style: str
    face_width: float
    face_length: float
    jaw_width: float
    eye_spacing: float
    eye_size: float
    nose_width: float
    nose_length: float
    mouth_width: float
    lip_fullness: float
    brow_thickness: float
    brow_arch: float
    eye_color: tuple[float, float, float]
    balding: float  # 0..1, how far the hairline recedes with age (mostly males)
    grey_onset: float  # years added to the population age at which hair greys
    beard: float  # 0..1 stubble density after puberty (males only)
    hair_volume: float


def _choice(rng: np.random.Generator, options: dict[str, float]) -> str:
    keys = list(options)
    p = np.array([options[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw a random person: sex, skin tone from a light-to-dark palette, hair, proportions."""
    sex = "female" if rng.random() < 0.5 else "male"
    pos = rng.uniform(0.0, len(_SKIN_PALETTE) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(_SKIN_PALETTE) - 1)
    skin = _SKIN_PALETTE[lo] + (pos - lo) * (_SKIN_PALETTE[hi] - _SKIN_PALETTE[lo])
    skin = np.clip(skin + rng.normal(0.0, 0.012, 3), 0.05, 1.0)
    dark = pos / (len(_SKIN_PALETTE) - 1)
    # Hair and eye colour correlate with skin tone, as in real populations.
    hair_name = _choice(
        rng,
        {
            "black": 0.15 + 0.7 * dark,
            "dark_brown": 0.3,
            "brown": 0.3 * (1 - dark) + 0.03,
            "light_brown": 0.2 * (1 - dark),
            "blond": 0.2 * (1 - dark) ** 2,
            "auburn": 0.08 * (1 - dark) ** 2,
        },
    )
    hair = np.clip(np.array(_HAIR_PALETTE[hair_name]) * rng.uniform(0.85, 1.15), 0, 1)
    eye_name = _choice(
        rng,
        {
            "dark_brown": 0.2 + 0.8 * dark,
            "brown": 0.3,
            "hazel": 0.15 * (1 - dark),
            "green": 0.1 * (1 - dark) ** 2,
            "blue": 0.25 * (1 - dark) ** 2,
            "grey": 0.08 * (1 - dark) ** 2,
        },
    )
    if sex == "female":
        style = _choice(
            rng, {"long": 0.35, "medium": 0.25, "bangs": 0.15, "curly": 0.15, "short": 0.1}
        )
    else:
        style = _choice(rng, {"short": 0.5, "buzz": 0.15, "curly": 0.15, "medium": 0.2})
    male = sex == "male"
    return Identity(
        sex=sex,
        skin_tone=(float(skin[0]), float(skin[1]), float(skin[2])),
        hair_color=(float(hair[0]), float(hair[1]), float(hair[2])),
        hair_style=style,
        face_width=float(rng.uniform(0.93, 1.07)),
        face_length=float(rng.uniform(0.94, 1.06)),
        jaw_width=float(rng.uniform(0.92, 1.08)),
        eye_spacing=float(rng.uniform(0.93, 1.07)),
        eye_size=float(rng.uniform(0.92, 1.08)),
        nose_width=float(rng.uniform(0.88, 1.15)),
        nose_length=float(rng.uniform(0.93, 1.07)),
        mouth_width=float(rng.uniform(0.9, 1.1)),
        lip_fullness=float(rng.uniform(0.8, 1.2)),
        brow_thickness=float(rng.uniform(0.8, 1.25) * (1.15 if male else 1.0)),
        brow_arch=float(rng.uniform(0.6, 1.0) if male else rng.uniform(0.9, 1.4)),
        eye_color=_EYE_PALETTE[eye_name],
        balding=float(rng.uniform(0.2, 1.0) if male and rng.random() < 0.45 else 0.0),
        grey_onset=float(rng.normal(0.0, 6.0)),
        beard=float(rng.uniform(0.2, 1.0) if male and rng.random() < 0.5 else 0.0),
        hair_volume=float(rng.uniform(0.8, 1.2)),
    )


@dataclass(frozen=True)
class Pose:
    """In-plane head pose: rotation (degrees, counter-clockwise as seen), scale, shift.

    ``shift`` is a fraction of the image size, so a pose means the same thing at every size.
    """

    rotation_deg: float = 0.0
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)


def sample_pose(
    rng: np.random.Generator,
    max_rotation: float = 10.0,
    max_scale: float = 0.08,
    max_shift: float = 0.05,
) -> Pose:
    """Uniform small pose jitter, like the residual misalignment of a dataset face crop."""
    rot = rng.uniform(-max_rotation, max_rotation)
    scale = 1.0 + rng.uniform(-max_scale, max_scale)
    sx, sy = rng.uniform(-max_shift, max_shift, 2)
    return Pose(rotation_deg=float(rot), scale=float(scale), shift=(float(sx), float(sy)))


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def _smoothstep(e0: float, e1: float, x: float) -> float:
    t = min(max((x - e0) / (e1 - e0), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


def _ramp(e0: float, e1: float, x: float) -> float:
    """0 before ``e0``, then rising like ``t**1.3`` to 1 at ``e1``: wrinkles deepen steadily."""
    t = min(max((x - e0) / (e1 - e0), 0.0), 1.0)
    return t**1.3


def _softplus(x: float) -> float:
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


def morphology(age: float, identity: Identity) -> dict[str, float]:
    """Face proportions (face-local units, 1 = half the adult cheek width) at ``age``.

    Pure and smooth in ``age`` so that the simulated age signal is learnable and monotone:

    * ``growth`` (0 at birth, 0.6 at 8 y, 0.83 at 13 y, 0.97 at 18 y, 1 at 22 y) drives the
      neotenous -> adult changes: big eyes set low under a big cranium, round face with chubby
      cheeks, short button nose, small mouth;
    * ``puberty`` (centred at 13.5 y) lengthens the jaw, more so in males, and allows stubble;
    * ``senescence`` (from ~22 y, still rising at 70 y) drives greying, wrinkles, folds, eye bags,
      thinner lips, sagging and (for some males) hairline recession, so that adult ages keep
      changing visibly.
    """
    age = float(max(age, 0.0))
    male = identity.sex == "male"
    # Growth keeps changing the face until 22 y (an exponential saturated by 10 y and left
    # 8-18 y nearly indistinguishable), so every childhood group has its own proportions.
    g = 1.0 - (1.0 - min(age, 22.0) / 22.0) ** 2
    p = 1.0 / (1.0 + math.exp(-(age - 13.5) / 1.8))
    s = min(4.0 * _softplus((age - 22.0) / 4.0) / 48.0, 1.15)
    fat = 0.7 * math.exp(-age / 3.5) + 0.3 * max(0.0, 1.0 - age / 32.0) ** 1.5
    mp = p if male else 0.0
    lf = identity.face_length

    face_hw = identity.face_width * (1.0 + 0.07 * fat)
    cranium_hw = face_hw * _lerp(1.22, 1.04, g)
    head_top = _lerp(1.85, 1.55, g) - 0.03 * s  # the scalp flattens as hair thins
    chin_y = lf * (_lerp(1.12, 1.56, g) + 0.06 * p + 0.07 * mp) + 0.05 * s
    eye_hw = identity.eye_size * _lerp(0.255, 0.195, g) * (1.0 - 0.1 * s)
    eye_h = eye_hw * _lerp(0.44, 0.36, g) * (1.0 - 0.12 * s)
    grey_age = age - identity.grey_onset
    hair_amount = 0.22 + 0.78 * (1.0 - math.exp(-age / 1.1))
    return {
        "age": age,
        "growth": g,
        "puberty": p,
        "senescence": s,
        "baby_fat": fat,
        "face_hw": face_hw,
        "cranium_hw": cranium_hw,
        "head_top": head_top,
        "cranium_cy": _lerp(-0.35, -0.2, g),
        "chin_y": chin_y,
        "jaw_hw": face_hw * identity.jaw_width * (_lerp(0.84, 0.74, g) + 0.08 * mp) + 0.04 * s,
        "chin_hw": identity.jaw_width * (_lerp(0.42, 0.29, g) + 0.07 * mp),
        "eye_hw": eye_hw,
        "eye_h": eye_h,
        "eye_dx": identity.eye_spacing * _lerp(0.43, 0.45, g),
        "iris_r": eye_hw * _lerp(0.50, 0.41, g),
        "eye_ratio": eye_hw / face_hw,
        "brow_y": -_lerp(0.36, 0.30, g) + 0.03 * mp + 0.02 * s,
        "brow_thick": identity.brow_thickness * _lerp(0.03, 0.05, g) * (1.0 + 0.2 * mp),
        "brow_alpha": _lerp(0.5, 0.92, g),
        "nose_y": lf * identity.nose_length * (_lerp(0.40, 0.63, g) + 0.04 * mp) + 0.05 * s,
        "nose_hw": identity.nose_width * (_lerp(0.16, 0.21, g) + 0.02 * mp) * (1 + 0.08 * s),
        "nose_bridge": _lerp(0.5, 1.0, g),
        "mouth_y": lf * (_lerp(0.70, 0.99, g) + 0.05 * mp) + 0.06 * s,
        "mouth_hw": identity.mouth_width * _lerp(0.23, 0.34, g) * (1.0 + 0.04 * s),
        "upper_lip": identity.lip_fullness * _lerp(0.06, 0.055, g) * (1.0 - 0.4 * s),
        "lower_lip": identity.lip_fullness * _lerp(0.075, 0.075, g) * (1.0 - 0.35 * s),
        "teeth": _smoothstep(0.5, 1.5, age),
        "neck_hw": _lerp(0.5, 0.4, g) + 0.08 * mp,
        "neck_len": _lerp(0.12, 0.38, g),
        "ear_scale": _lerp(0.85, 1.0, g) + 0.12 * s,
        "hair_amount": hair_amount,
        "hair_length": min(1.0, age / 9.0),
        "hairline_y": -_lerp(1.25, 0.98, g) - 0.35 * identity.balding * _smoothstep(22, 60, age),
        "temple_recession": identity.balding * _smoothstep(20, 50, age),
        "crown_thinning": identity.balding * _smoothstep(35, 70, age),
        "grey": min(1.0, max(0.0, (grey_age - 32.0) / 38.0) ** 1.2),
        "forehead_lines": _ramp(22.0, 70.0, age),
        "crows_feet": _ramp(28.0, 70.0, age),
        "nasolabial": 0.15 * g + 0.85 * _ramp(18.0, 70.0, age),
        "eye_bags": _ramp(30.0, 72.0, age),
        "jowls": _smoothstep(42.0, 72.0, age),
        "marionette": _smoothstep(48.0, 72.0, age),
        "age_spots": _smoothstep(50.0, 75.0, age),
        "stubble": identity.beard * _smoothstep(15.0, 22.0, age),
    }


@dataclass(frozen=True, eq=False)
class Rendered:
    """One render: the RGB image, exact 5-point landmarks (MTCNN order) and the AUs drawn."""

    image: Image.Image
    landmarks: np.ndarray
    au: np.ndarray


# --------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------

Color = tuple[float, float, float] | np.ndarray
Points = np.ndarray  # (n, 2) face-local coordinates


def _rgb(color: Color) -> tuple[int, int, int]:
    r, g, b = color.tolist() if isinstance(color, np.ndarray) else color
    return (
        int(255.0 * min(max(r, 0.0), 1.0) + 0.5),
        int(255.0 * min(max(g, 0.0), 1.0) + 0.5),
        int(255.0 * min(max(b, 0.0), 1.0) + 0.5),
    )


def _mix(a: Color, b: Color, t: float) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    return a + (np.asarray(b, dtype=float) - a) * t


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


_CIRCLES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 40, angle: float = 0.0) -> Points:
    if n not in _CIRCLES:
        t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
        _CIRCLES[n] = (np.cos(t), np.sin(t))
    cos_t, sin_t = _CIRCLES[n]
    x, y = rx * cos_t, ry * sin_t
    if angle:
        ca, sa = math.cos(angle), math.sin(angle)
        x, y = ca * x - sa * y, sa * x + ca * y
    return np.column_stack([cx + x, cy + y])


def _catmull_rom(points: Points, n_per_seg: int = 6) -> Points:
    """Smooth curve through ``points`` (Catmull-Rom), endpoints included."""
    p = np.asarray(points, dtype=float)
    padded = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    p0, p1, p2, p3 = (padded[i : i + len(p) - 1, None, :] for i in range(4))
    t = np.linspace(0.0, 1.0, n_per_seg, endpoint=False)[None, :, None]
    curve = p1 + 0.5 * t * (
        (p2 - p0) + t * ((2 * p0 - 5 * p1 + 4 * p2 - p3) + t * (-p0 + 3 * p1 - 3 * p2 + p3))
    )
    return np.vstack([curve.reshape(-1, 2), p[-1:]])


_BEZIER_T = np.linspace(0.0, 1.0, 9)[:, None]


def _bezier(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float]) -> Points:
    """Quadratic Bezier curve (9 points) from ``p0`` to ``p2`` pulled towards ``p1``."""
    t = _BEZIER_T
    return (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * np.asarray(p1) + t**2 * np.asarray(p2)


def _band(upper: Points, lower: Points) -> Points:
    """Closed polygon between two curves sampled in the same direction."""
    return np.vstack([upper, lower[::-1]])


def _shift(pts: Points, dx: float, dy: float) -> Points:
    return pts + np.array([dx, dy])


def _curve(xs: np.ndarray, ys: np.ndarray) -> Points:
    return np.column_stack([xs, ys])


class _Canvas:
    """Hard-edged drawing on the supersampled RGB canvas through the pose transform.

    Edges are anti-aliased by the final 2x box reduction, so no per-shape blur is needed; that
    keeps a render at a few milliseconds.
    """

    def __init__(self, img: Image.Image, lin: np.ndarray, off: np.ndarray, unit: float) -> None:
        self.img = img
        self.draw = ImageDraw.Draw(img)
        self.lin_t = lin.T.copy()
        self.off = off
        self.unit = unit  # canvas pixels per face unit
        self.size = img.size

    def px(self, pts: Points) -> np.ndarray:
        return np.asarray(pts, dtype=float) @ self.lin_t + self.off

    def coords(self, pts: Points) -> list[float]:
        """Flat ``[x0, y0, x1, y1, ...]`` canvas coordinates, the cheapest form for ImageDraw."""
        return self.px(pts).ravel().tolist()

    def fill(
        self, pts: Points, color: Color, outline: Color | None = None, width: float = 0.0
    ) -> None:
        if outline is None:
            self.draw.polygon(self.coords(pts), fill=_rgb(color))
        else:
            w = max(1, round(width * self.unit))
            self.draw.polygon(self.coords(pts), fill=_rgb(color), outline=_rgb(outline), width=w)

    def line(self, pts: Points, color: Color, width: float) -> None:
        w = max(1, round(width * self.unit))
        self.draw.line(self.coords(pts), fill=_rgb(color), width=w, joint="curve")

    def _box(self, q: np.ndarray, margin: float) -> tuple[int, int, int, int] | None:
        x0 = max(int(q[:, 0].min() - margin), 0)
        y0 = max(int(q[:, 1].min() - margin), 0)
        x1 = min(int(q[:, 0].max() + margin) + 2, self.size[0])
        y1 = min(int(q[:, 1].max() + margin) + 2, self.size[1])
        return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)

    def blend(self, shapes: list[Points], color: Color, opacity: float) -> None:
        """Alpha-blend ``color`` through polygons; nested shapes give a cheap feathered edge."""
        if opacity <= 0.004 or not shapes:
            return
        qs = [self.px(s) for s in shapes]
        box = self._box(np.vstack(qs), 1)
        if box is None:
            return
        mask = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
        d = ImageDraw.Draw(mask)
        for k, q in enumerate(qs):
            value = round(255 * min(opacity, 1.0) * (k + 1) / len(qs))
            d.polygon((q - box[:2]).ravel().tolist(), fill=value)
        self.img.paste(_rgb(color), box, mask)


class _LineLayer:
    """Grey-level layer of thin dark marks (wrinkles, folds, creases) on the 2x canvas grid."""

    def __init__(self, canvas: _Canvas) -> None:
        self.cv = canvas
        self.img = Image.new("L", canvas.size, 0)
        self.draw = ImageDraw.Draw(self.img)

    def line(self, pts: Points, opacity: float, width: float) -> None:
        if opacity > 0.004:
            w = max(1, round(width * self.cv.unit))
            value = round(255 * min(opacity, 1.0))
            self.draw.line(self.cv.coords(pts), fill=value, width=w, joint="curve")

    def fill(self, pts: Points, opacity: float) -> None:
        if opacity > 0.004:
            self.draw.polygon(self.cv.coords(pts), fill=round(255 * min(opacity, 1.0)))


class _Shading:
    """Soft shading maps at output resolution, built from analytic Gaussian blobs.

    Blobs are evaluated only inside their own bounding box, on face-local coordinate grids
    computed once per render, so the soft structure MTCNN keys on (eye sockets, nose shadow,
    cheeks) costs no image blurs.
    """

    def __init__(self, size: int, lin: np.ndarray, off: np.ndarray) -> None:
        self.size = size
        self.lin = lin
        self.off = off
        self.inv = np.linalg.inv(lin)
        self.unit = math.sqrt(abs(np.linalg.det(lin)))
        yy, xx = _pixel_grid(size)
        dx, dy = xx - np.float32(off[0]), yy - np.float32(off[1])
        self.u = np.float32(self.inv[0, 0]) * dx + np.float32(self.inv[0, 1]) * dy
        self.v = np.float32(self.inv[1, 0]) * dx + np.float32(self.inv[1, 1]) * dy
        self.maps = {
            k: np.zeros((size, size), np.float32) for k in ("dark", "light", "blush", "neck")
        }

    def blob(
        self,
        layer: str,
        cx: float,
        cy: float,
        rx: float,
        ry: float,
        amp: float,
        angle: float = 0.0,
    ) -> None:
        """Add ``amp * exp(-(u/rx)^2 - (v/ry)^2)`` (u, v rotated by ``angle``) to ``layer``."""
        if abs(amp) < 0.004:
            return
        lin, off = self.lin, self.off
        px = lin[0, 0] * cx + lin[0, 1] * cy + off[0]
        py = lin[1, 0] * cx + lin[1, 1] * cy + off[1]
        r = 2.2 * (rx if rx > ry else ry) * self.unit
        x0, x1 = max(int(px - r), 0), min(int(px + r) + 2, self.size)
        y0, y1 = max(int(py - r), 0), min(int(py + r) + 2, self.size)
        if x1 <= x0 or y1 <= y0:
            return
        u = self.u[y0:y1, x0:x1] - cx
        v = self.v[y0:y1, x0:x1] - cy
        if angle:
            ca, sa = math.cos(angle), math.sin(angle)
            u, v = ca * u + sa * v, ca * v - sa * u
        u *= u
        u *= 1.0 / (rx * rx)
        v *= v
        v *= 1.0 / (ry * ry)
        u += v
        np.negative(u, out=u)
        np.exp(u, out=u)
        u *= amp
        self.maps[layer][y0:y1, x0:x1] += u


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------

_SUPERSAMPLE = 2
_UNIT_FRACTION = 0.25  # face unit as a fraction of the image size -> face ~50 % of the width
_ANCHOR_Y = 0.46  # where the vertical middle of the head lands (fraction of the image height)
_NOISE_LUT = np.array([NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)])
_NOISE_LUT = (_NOISE_LUT / _NOISE_LUT.std()).astype(np.float32)


def _face_profile(m: dict[str, float], jaw_drop: float) -> Points:
    """Right half of the head outline, from the cranium side point down to the chin."""
    cy = m["cranium_cy"]
    b = m["chin_y"] + jaw_drop
    fhw, chw = m["face_hw"], m["cranium_hw"]
    cheek = 0.09 * m["baby_fat"]
    jowl = 0.05 * m["jowls"]
    pts = np.array(
        [
            (chw, cy),
            (_lerp(chw, fhw, 0.65), _lerp(cy, 0.22, 0.5)),
            (fhw, 0.22),
            (fhw * 0.96 + 0.8 * cheek, _lerp(0.22, b, 0.38)),
            (m["jaw_hw"] + 0.4 * cheek + jowl, _lerp(0.22, b, 0.7)),
            (m["chin_hw"] * 1.12 + 0.2 * cheek + 0.6 * jowl, _lerp(0.22, b, 0.9)),
            (m["chin_hw"] * 0.55, b - 0.015),
            (0.0, b),
        ]
    )
    return _catmull_rom(pts, 5)


def _head_outline(m: dict[str, float], jaw_drop: float) -> Points:
    """Closed head polygon: cranium arc on top, face profile below (mirrored)."""
    right = _face_profile(m, jaw_drop)
    cy = m["cranium_cy"]
    ry = m["head_top"] + cy
    t = np.linspace(0.0, math.pi, 25)[1:-1]
    arc = np.column_stack([m["cranium_hw"] * np.cos(t), cy - ry * np.sin(t)])
    left = right * (-1.0, 1.0)  # runs from the cranium down to the chin
    return np.vstack([right[::-1], arc, left[:-1]])


def _hair_front(m: dict[str, float], ident: Identity) -> tuple[Points, Points]:
    """Front hair polygon (the cap above the hairline) and the hairline curve itself."""
    cy = m["cranium_cy"]
    style = ident.hair_style
    vol = (
        ident.hair_volume
        * m["hair_amount"]
        * {"short": 0.07, "buzz": 0.025, "medium": 0.1, "long": 0.1, "bangs": 0.1, "curly": 0.2}[
            style
        ]
    )
    hx = m["cranium_hw"] + vol
    hy = m["head_top"] + cy + vol * 1.3
    long_sides = style in {"long", "medium", "curly"} and m["hair_length"] > 0.3
    side_y = _lerp(-0.45, 0.12 if long_sides else 0.02, m["hair_amount"])
    t0 = math.asin(min(max((side_y - cy) / hy, -0.95), 0.95))
    t = np.linspace(-t0, math.pi + t0, 31)
    r = 1.0 + 0.035 * np.sin(11.0 * t) * m["hair_amount"] if style == "curly" else 1.0
    outer = np.column_stack([hx * r * np.cos(t), cy - hy * r * np.sin(t)])
    fw = _lerp(m["cranium_hw"], m["face_hw"], 0.6) * 0.97
    u = np.linspace(-1.0, 1.0, 25)
    hl = m["hairline_y"]
    if style == "bangs" and m["hair_length"] > 0.3:
        hl = max(hl, m["brow_y"] - 0.17 - 0.05 * (1 - m["growth"]))
        y = hl + (side_y - hl) * np.abs(u) ** 4 + 0.012 * np.cos(18 * u)
    else:
        rec = m["temple_recession"]
        dip = np.exp(-(((np.abs(u) - 0.55) / 0.22) ** 2))
        y = hl + (side_y - hl) * np.abs(u) ** 2.5 - 0.28 * rec * dip
    hairline = np.column_stack([u * fw, y])
    return np.vstack([outer, hairline]), hairline


def _hair_back(m: dict[str, float], ident: Identity, shoulder_y: float) -> Points:
    """Hair behind the head (visible around it and, for long styles, down to the shoulders)."""
    cy = m["cranium_cy"]
    vol = ident.hair_volume * m["hair_amount"]
    hx = m["cranium_hw"] + 0.1 * vol
    hy = m["head_top"] + cy + 0.12 * vol
    style, length = ident.hair_style, m["hair_length"]
    if style in {"long", "medium"} and length > 0.2:
        if style == "long":
            bottom = _lerp(m["mouth_y"], shoulder_y + 0.9, length)
            flare = 1.14
        else:
            bottom = _lerp(m["nose_y"], m["chin_y"] + 0.1, length)
            flare = 1.06
        ctrl = np.array(
            [
                (0.0, cy - hy),
                (hx * 0.75, cy - hy * 0.75),
                (hx, cy),
                (hx * _lerp(1.0, flare, 0.5), _lerp(cy, bottom, 0.5)),
                (hx * flare, bottom - 0.3),
                (hx * flare * 0.88, bottom - 0.04),
                (hx * 0.55, bottom + 0.02),
                (0.0, bottom + 0.03),
            ]
        )
        right = _catmull_rom(ctrl, 5)
        return np.vstack([right, right[::-1] * (-1.0, 1.0)])
    if style == "curly":
        return _ellipse(0.0, cy + 0.1, m["cranium_hw"] + 0.3 * vol, hy + 0.25 * vol + 0.1, 48)
    back = _ellipse(0.0, cy, hx, hy, 40)
    back[:, 1] = np.minimum(back[:, 1], 0.3)  # short hair stops above the ears
    return back


def _geometry(
    m: dict[str, float], ident: Identity, au: np.ndarray, expressiveness: float = 1.0
) -> dict:
    """All feature shapes in face-local coordinates for the given morphology and AU vector.

    ``expressiveness`` scales how far the AUs move features (brows, lids, lips, jaw); the skin
    marks they leave (wrinkles, dimples, cheek shading) keep the unscaled AU strength.
    """
    a = {name: expressiveness * float(au[i]) for i, name in enumerate(AU_NAMES)}
    g = m["growth"]
    geo: dict = {"au": {name: float(au[i]) for i, name in enumerate(AU_NAMES)}}
    open_amt = max(a["mouth_open"], 0.0) * _lerp(0.3, 0.27, g)
    jaw_drop = 0.55 * open_amt
    geo["jaw_drop"] = jaw_drop
    geo["chin_y"] = m["chin_y"] + jaw_drop
    geo["shoulder_y"] = geo["chin_y"] + m["neck_len"]
    geo["head"] = _head_outline(m, jaw_drop)

    # Eyes: almond between an upper and a lower lid curve; never fully closed.
    eo, cr = a["eye_open"], a["cheek_raise"]
    eye_hw, eye_h = m["eye_hw"], m["eye_h"]
    up = eye_h * max(0.42, 1.15 + 0.6 * max(eo, 0.0) + 0.7 * min(eo, 0.0) - 0.15 * m["senescence"])
    lo = eye_h * max(0.25, 0.72 + 0.28 * max(eo, 0.0) + 0.25 * min(eo, 0.0) - 0.3 * cr)
    tt = np.linspace(0.0, 1.0, 15)
    eyes = []
    for sgn in (-1.0, 1.0):
        ex = sgn * m["eye_dx"]
        x_in, x_out = ex - sgn * eye_hw, ex + sgn * eye_hw
        xs = x_in + (x_out - x_in) * tt
        base = 0.02 - 0.04 * tt  # outer corner slightly higher (canthal tilt)
        upper = _curve(xs, base - up * np.sin(math.pi * tt**0.9) ** 0.85)
        lower = _curve(xs, base + lo * np.sin(math.pi * tt**1.15))
        iris = np.array([ex, 0.35 * (lo - up)])
        eyes.append({"sgn": sgn, "x_out": x_out, "upper": upper, "lower": lower, "iris": iris})
    geo.update(eyes=eyes, eye_up=up, eye_lo=lo)

    # Brows: tapered arch; raise / inner raise / knit move its ends.
    br, bi, bk = a["brow_raise"], a["brow_inner"], a["brow_knit"]
    yb = m["brow_y"] - 0.11 * max(br, 0.0) - 0.09 * min(br, 0.0)
    brows = []
    tb = np.linspace(0.0, 1.0, 13)
    for sgn in (-1.0, 1.0):
        x_in = sgn * (m["eye_dx"] - eye_hw * 1.0 - 0.05 * bk)
        x_out = sgn * (m["eye_dx"] + eye_hw * 1.3)
        y_in = yb + 0.025 - 0.1 * bi + 0.045 * bk
        y_out = yb + 0.05 + 0.04 * max(bi, 0.0) - 0.02 * min(bi, 0.0)
        arch = (0.045 * ident.brow_arch + 0.03 * max(br, 0.0)) * np.sin(math.pi * tb**0.75)
        cxs = x_in + (x_out - x_in) * tb
        cys = y_in + (y_out - y_in) * tb - arch
        th = m["brow_thick"] * (1.0 - 0.55 * tb**1.5)
        brows.append(_band(_curve(cxs, cys - 0.5 * th), _curve(cxs, cys + 0.5 * th)))
    geo.update(brows=brows, brow_y=yb)

    # Nose.
    geo["nose_y"] = m["nose_y"]
    geo["nose_hw"] = m["nose_hw"] * (1.0 + 0.15 * a["nose_wrinkle"])

    # Mouth: a mouth line bent by the corners, opened by the jaw, lips around it.
    mc, ms, lp, nw = a["mouth_corner"], a["mouth_stretch"], a["lip_press"], a["nose_wrinkle"]
    my = m["mouth_y"]
    mw = m["mouth_hw"] * (
        1.0 + 0.2 * max(ms, 0.0) + 0.2 * min(ms, 0.0) + 0.12 * max(mc, 0.0) - 0.05 * lp
    )
    corner_dy = -0.085 * max(mc, 0.0) - 0.06 * min(mc, 0.0) + 0.015 * max(ms, 0.0)
    tm = np.linspace(-1.0, 1.0, 21)
    line_y = my + corner_dy * np.abs(tm) ** 1.7
    raise_up = 0.05 * nw  # upper lip raise (AU10)
    env = np.clip(1.0 - np.abs(tm) ** (2.0 + 3.0 * max(ms, 0.0)), 0.0, 1.0) ** 0.6
    ui = line_y - (0.22 * open_amt + raise_up) * env
    li = line_y + 0.78 * open_amt * env
    pucker = max(-ms, 0.0)
    ut = m["upper_lip"] * (1 - 0.65 * lp) * (1 - 0.25 * max(mc, 0.0)) * (1 + 0.3 * pucker)
    lt = m["lower_lip"] * (1 - 0.65 * lp) * (1 - 0.2 * max(mc, 0.0)) * (1 + 0.35 * pucker)
    uo = ui - ut * (1.0 - 0.75 * tm**2) + 0.3 * ut * np.exp(-((tm / 0.13) ** 2))
    lo_ = li + lt * np.clip(1.0 - tm**2, 0.0, 1.0) ** 0.6
    xs = tm * mw
    geo.update(
        mouth_w=mw,
        mouth_line=_curve(xs, line_y),
        lip_upper=_band(_curve(xs, uo), _curve(xs, ui)),
        lip_lower=_band(_curve(xs, li), _curve(xs, lo_)),
        mouth_inner=(_curve(xs, ui), _curve(xs, li)),
        mouth_open=open_amt + raise_up,
        mouth_env=env,
        lower_lip_y=float(lo_[10]),
        upper_lip_y=float(uo[10]),
        lower_lip_t=lt,
    )
    geo["landmarks"] = np.vstack(
        [
            eyes[0]["iris"],
            eyes[1]["iris"],
            (0.0, m["nose_y"] - 0.03),
            (-mw, line_y[0]),
            (mw, line_y[-1]),
        ]
    )
    return geo


# --------------------------------------------------------------------------------------------
# Renderer
# --------------------------------------------------------------------------------------------


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    """Smooth random background: two-colour gradient plus low-frequency colour texture.

    Built at output resolution and doubled with NEAREST so that the final 2x box reduction
    returns it unchanged (cheaper than interpolating at the supersampled size).
    """
    c0 = _hsv(rng.uniform(), rng.uniform(0.05, 0.5), rng.uniform(0.2, 0.95))
    c1 = _hsv(rng.uniform(), rng.uniform(0.05, 0.5), rng.uniform(0.2, 0.95))
    angle = rng.uniform(0.0, 2.0 * math.pi)
    g = 6
    yy, xx = np.mgrid[0:g, 0:g] / (g - 1) - 0.5
    t = np.clip(0.5 + (math.cos(angle) * xx + math.sin(angle) * yy), 0.0, 1.0)[..., None]
    small = c0 * (1 - t) + c1 * t + rng.normal(0.0, rng.uniform(0.0, 0.06), (g, g, 3))
    arr = (np.clip(small, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    bg = Image.fromarray(arr, "RGB").resize((size, size), Image.Resampling.BILINEAR)
    n = size * _SUPERSAMPLE
    return bg.resize((n, n), Image.Resampling.NEAREST)


def render_face(
    age: float,
    expression: str,
    identity: Identity,
    rng: np.random.Generator,
    *,
    intensity: float = 1.0,
    size: int = 128,
    midpoint: float = 10.0,
    steepness: float = 0.8,
    infant_similarity: float = 0.3,
    pose: Pose | None = None,
    au_jitter: float = 0.1,
    noise_sigma: float = 3.0,
    expressiveness: float = 1.0,
) -> Rendered:
    """Render one face of ``identity`` at ``age`` showing ``expression``.

    ``rng`` drives everything random in the render (pose if not given, lighting, background,
    clothing, AU jitter, pixel noise) so the same seed reproduces the same pixels exactly.
    Returns the image, the exact landmarks (image-left eye, image-right eye, nose tip, left and
    right mouth corner, in output pixel coordinates) and the AU vector actually drawn.

    ``intensity`` scales the AU vector and ``au_jitter`` adds N(0, au_jitter) per AU (so classes
    overlap like real displays); ``noise_sigma`` is the per-pixel Gaussian noise in grey levels
    (drawn through a 256-level quantile table, which is several times faster than sampling).
    ``expressiveness`` multiplies how far the AUs displace the features (1 = life-like); small
    training crops (48 px) need about 2 for a brow raise or a mouth-corner pull to span pixels.
    """
    _check_expression(expression)
    if pose is None:
        pose = sample_pose(rng)
    au = expression_config(
        expression,
        age,
        midpoint=midpoint,
        steepness=steepness,
        infant_similarity=infant_similarity,
    ) * float(intensity)
    if au_jitter > 0:
        au = au + rng.normal(0.0, au_jitter, len(AU_NAMES))
    au = np.where(_SIGNED, np.clip(au, -1.2, 1.2), np.clip(au, 0.0, 1.2))

    light_angle = float(rng.uniform(0.0, 2.0 * math.pi))
    light_strength = float(rng.uniform(0.0, 0.3))
    brightness = float(rng.uniform(0.8, 1.06))
    tint = rng.normal(0.0, 0.025, 3).astype(np.float32)
    cloth = _hsv(rng.uniform(), rng.uniform(0.05, 0.7), rng.uniform(0.15, 0.85))
    detail_rng = np.random.default_rng(rng.integers(0, 2**63 - 1))
    canvas = _background(rng, size)
    noise_idx = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)

    m = morphology(age, identity)
    geo = _geometry(m, identity, au, expressiveness)
    theta = math.radians(pose.rotation_deg)
    unit = _UNIT_FRACTION * size * pose.scale
    c, s = math.cos(theta), math.sin(theta)
    lin = unit * np.array([[c, s], [-s, c]])  # local -> output pixels (y down, CCW rotation)
    mid = 0.5 * (-m["head_top"] + m["chin_y"])
    centre = np.array([size * (0.5 + pose.shift[0]), size * (_ANCHOR_Y + pose.shift[1])])
    off = centre - lin @ np.array([0.0, mid])
    k = _SUPERSAMPLE
    cv = _Canvas(canvas, lin * k, off * k + 0.5 * (k - 1), unit * k)
    lines = _LineLayer(cv)
    shade = _Shading(size, lin, off)
    colors = _palette(m, identity, cloth)
    lx, ly = math.cos(light_angle), math.sin(light_angle)
    hair_polys = _paint_canvas(cv, lines, geo, m, identity, colors, lx, detail_rng)
    _paint_shading(shade, geo, m, lx)

    # Shading mask: head plus the hair lying on it, so the rim darkening wraps around both.
    mask2x = Image.new("L", cv.size, 0)
    mdraw = ImageDraw.Draw(mask2x)
    for poly in [geo["head"], *hair_polys]:
        mdraw.polygon(cv.coords(poly), fill=255)
    mask1x = mask2x.reduce(k)
    arr = np.array(canvas.reduce(k), dtype=np.float32)
    box = mask1x.getbbox()
    if box is not None:  # soft shading only where the head is
        halo = max(int(0.3 * unit), 1)
        x0, y0 = max(box[0] - halo, 0), max(box[1] - halo, 0)
        x1, y1 = min(box[2] + halo, size), min(box[3] + 2 * halo, size)  # neck below the chin
        box = (x0, y0, x1, y1)
        sl = (slice(y0, y1), slice(x0, x1))
        inv255 = np.float32(1.0 / 255.0)
        fm = np.asarray(mask1x.crop(box), dtype=np.float32) * inv255
        pad = (x0 - halo, y0 - halo, x1 + halo, y1 + halo)
        blurred = mask1x.crop(pad).filter(ImageFilter.GaussianBlur(0.12 * unit))
        blurred = np.asarray(blurred, np.float32)[halo:-halo, halo:-halo] * inv255
        maps = shade.maps
        # Key light across the face, in face coordinates so that it turns with the head.
        side = np.clip(np.float32(0.8 * lx) * shade.u[sl], -1.0, 1.0)
        dark = maps["dark"][sl] + np.asarray(lines.img.reduce(k).crop(box), np.float32) * inv255
        dark += np.maximum(-side, 0.0) * np.float32(1.8 * light_strength + 0.1)
        dark = np.minimum(dark * fm + 1.4 * fm * (1.0 - blurred), 0.85)
        blush = np.minimum(maps["blush"][sl] * fm, 1.0)
        light = (maps["light"][sl] + np.maximum(side, 0.0) * np.float32(light_strength)) * fm
        light = np.minimum(light, 0.8) * 0.5
        dark += np.minimum(maps["neck"][sl], 0.7) * (1.0 - fm)  # chin shadow on the neck
        # Linearised shading: colour *= 1 - dark * tint - blush * tint, then mix towards white.
        mult = dark[..., None] * _DARK_TINT
        mult += blush[..., None] * _BLUSH_TINT
        np.subtract(1.0, mult, out=mult)
        mult -= light[..., None]
        sub = arr[sl]
        sub *= mult
        sub += 250.0 * light[..., None]
    yy, xx = _pixel_grid(size)
    field = np.float32(brightness) * (
        1.0
        + np.float32(2.0 * light_strength / size) * (lx * (xx - size / 2) + ly * (yy - size / 2))
    )
    arr *= field[..., None] * (1.0 + tint)
    arr += (_NOISE_LUT * np.float32(noise_sigma) + np.float32(0.5))[noise_idx]  # +0.5: rounding
    np.clip(arr, 0.0, 255.0, out=arr)
    out = Image.fromarray(arr.astype(np.uint8), "RGB")
    landmarks = geo["landmarks"] @ lin.T + off
    return Rendered(image=out, landmarks=landmarks, au=au)


_DARK_TINT = np.array([0.52, 0.6, 0.62], dtype=np.float32)
_BLUSH_TINT = np.array([0.0, 0.16, 0.18], dtype=np.float32)
_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) pixel-centre coordinate grids, cached per size (read-only)."""
    if size not in _GRIDS:
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        yy.setflags(write=False)
        xx.setflags(write=False)
        _GRIDS[size] = (yy, xx)
    return _GRIDS[size]


def _palette(m: dict[str, float], ident: Identity, cloth: np.ndarray) -> dict[str, np.ndarray]:
    """Colours of one render; hair greys and infant skin is slightly pinker."""
    skin = np.asarray(ident.skin_tone, dtype=float)
    # Ageing skin: slightly duller and less saturated.
    skin = _mix(skin, np.full(3, skin.mean() * 0.97), 0.22 * min(m["senescence"], 1.0))
    if m["age"] < 3:
        skin = _mix(skin, skin * (1.04, 0.95, 0.95), 1 - m["age"] / 3)
    hair = _mix(ident.hair_color, (0.78, 0.77, 0.76), m["grey"])
    brow = _mix(ident.hair_color, (0.7, 0.7, 0.7), 0.4 * m["grey"]) * 0.45
    brow = _mix(brow, skin, 1.0 - m["brow_alpha"])
    lip = _mix(skin * np.array([0.86, 0.6, 0.6]), (0.62, 0.25, 0.28), 0.2)
    return {
        "skin": skin,
        "deep": skin * np.array([0.42, 0.32, 0.30]),
        "light": _mix(skin, (1.0, 0.97, 0.94), 0.35),
        "hair": hair,
        "hair_dark": hair * 0.65,
        "brow": brow,
        "lip": lip,
        "cloth": cloth,
        "iris": np.asarray(ident.eye_color, dtype=float),
        "iris_ring": np.asarray(ident.eye_color, dtype=float) * 0.5,
        "sclera": np.array([0.9, 0.87, 0.84]),
        "sclera_shadow": np.array([0.72, 0.68, 0.66]),
    }


def _paint_canvas(
    cv: _Canvas,
    lines: _LineLayer,
    geo: dict,
    m: dict[str, float],
    ident: Identity,
    col: dict[str, np.ndarray],
    lx: float,
    rs: np.random.Generator,
) -> list[Points]:
    """Hard-edged layers, back to front: hair, neck, clothes, ears, head, features, front hair.

    Returns the hair polygons lying on the head, which join the head in the shading mask.
    """
    a = geo["au"]
    g = m["growth"]
    skin, deep = col["skin"], col["deep"]
    shoulder_y = geo["shoulder_y"]
    amt = m["hair_amount"]

    # ---- behind the head ------------------------------------------------------------------
    back = _hair_back(m, ident, shoulder_y)
    if amt > 0.95:
        cv.fill(back, col["hair_dark"])
    else:
        cv.blend([back], col["hair_dark"], max(0.0, 2.5 * amt - 1.5))
    nhw = m["neck_hw"]
    neck = np.array(
        [
            (-nhw, m["mouth_y"]),
            (nhw, m["mouth_y"]),
            (nhw * 1.08, shoulder_y + 0.6),
            (-nhw * 1.08, shoulder_y + 0.6),
        ]
    )
    cv.fill(neck, skin * 0.88)
    neckline = np.array(
        [
            (-nhw * 1.35, shoulder_y - 0.02),
            (-nhw * 0.7, shoulder_y + 0.22),
            (0.0, shoulder_y + 0.3),
            (nhw * 0.7, shoulder_y + 0.22),
            (nhw * 1.35, shoulder_y - 0.02),
        ]
    )
    w_sh = 2.4
    clothes = np.vstack(
        [
            [
                (-w_sh * 1.05, shoulder_y + 3.0),
                (-w_sh, shoulder_y + 0.75),
                (-1.65, shoulder_y + 0.3),
                (-1.0, shoulder_y + 0.1),
            ],
            neckline,
            [
                (1.0, shoulder_y + 0.1),
                (1.65, shoulder_y + 0.3),
                (w_sh, shoulder_y + 0.75),
                (w_sh * 1.05, shoulder_y + 3.0),
            ],
        ]
    )
    cv.fill(clothes, col["cloth"])
    cv.line(neckline, col["cloth"] * 0.6, 0.04)
    ear_s = m["ear_scale"]
    ear_y = _lerp(0.1, 0.26, g)
    for sgn in (-1.0, 1.0):
        ex = sgn * (m["face_hw"] * 0.97 + 0.04)
        cv.fill(_ellipse(ex, ear_y, 0.13 * ear_s, 0.25 * ear_s, 18), skin * 0.93)
        cv.fill(
            _ellipse(ex + sgn * 0.01, ear_y, 0.06 * ear_s, 0.15 * ear_s, 12), _mix(skin, deep, 0.4)
        )

    # ---- head and skin marks --------------------------------------------------------------
    cv.fill(geo["head"], skin)

    # ---- eyes -----------------------------------------------------------------------------
    eye_h, up, lo = m["eye_h"], geo["eye_up"], geo["eye_lo"]
    eo, cr = a["eye_open"], a["cheek_raise"]
    iris_r = m["iris_r"]
    hl_dx = 0.35 * iris_r * (1.0 if lx > 0 else -1.0)
    lash_w = 0.03 * (1.2 if ident.sex == "female" else 1.0)
    lash_col = (0.07, 0.05, 0.05)
    for eye in geo["eyes"]:
        upper, lower, ic, sgn = eye["upper"], eye["lower"], eye["iris"], eye["sgn"]

        # Sclera, shadow of the upper lid, iris, pupil, catchlight; then skin "covers" above
        # and below the lids hide the part of the iris outside the eye opening (the skin on the
        # canvas is still flat here; its shading is applied later at output resolution).
        cv.fill(_band(upper, lower), col["sclera"])
        cv.fill(_band(upper, upper + 0.35 * (lower - upper)), col["sclera_shadow"])
        cv.fill(
            _ellipse(ic[0], ic[1], iris_r, iris_r, 20), col["iris"], col["iris_ring"], 0.22 * iris_r
        )
        pr = iris_r * _lerp(0.5, 0.42, g)  # infants have relatively large pupils
        cv.fill(_ellipse(ic[0], ic[1], pr, pr, 16), (0.04, 0.03, 0.03))
        r4 = iris_r * 0.17
        cv.fill(_ellipse(ic[0] + hl_dx, ic[1] - 0.35 * iris_r, r4, r4, 10), (0.98, 0.98, 0.98))
        # Both covers in one polygon (two lobes touching at the eye corners).
        cover = np.array([0.0, 2.2 * iris_r + 0.02])
        cv.fill(np.vstack([upper, (upper - cover)[::-1], lower + cover, lower[::-1]]), skin)
        cv.line(upper, lash_col, lash_w)
        cv.line(_shift(upper[-5:], sgn * 0.008, -0.006), lash_col, lash_w * 1.1)
        cv.line(lower[2:], _mix(skin, deep, 0.55), 0.014)
        # Lid crease, eye bags, crow's feet (line layer: soft dark marks on the skin).
        crease = _shift(upper, 0.0, -eye_h * _lerp(0.55, 0.8, g) - 0.25 * up * max(eo, 0.0))
        lines.line(crease[2:-2], 0.25 + 0.25 * g, 0.016)
        bags = _shift(lower, 0.0, lo * 0.3 + 0.07)
        lines.line(bags[3:-2], 0.35 * m["eye_bags"], 0.02)
        cf = m["crows_feet"] * (0.4 + 0.35 * cr) + 0.15 * cr * g
        if cf > 0.01:  # a fan of three lines drawn as one polyline through its origin
            p0 = (eye["x_out"] + sgn * 0.04, 0.0)
            fan = [_shift(np.array(p0), sgn * 0.11, 0.05 * k) for k in (-1.0, 0.0, 1.0)]
            lines.line(np.array([fan[0], p0, fan[1], p0, fan[2]]), cf, 0.013)

    # ---- brows and forehead ---------------------------------------------------------------
    for brow in geo["brows"]:
        cv.fill(brow, col["brow"])
    br, bi, bk = a["brow_raise"], a["brow_inner"], a["brow_knit"]
    yb = geo["brow_y"]
    fl = 0.4 * m["forehead_lines"] + 0.35 * max(br, 0.0) * g + 0.15 * max(bi, 0.0) * g
    hairline_top = m["hairline_y"]
    for k in range(3 if fl > 0.01 else 0):
        yl = yb - 0.16 - 0.1 * k
        if yl < hairline_top + 0.08:
            break
        xs = np.linspace(-0.42 + 0.06 * k, 0.42 - 0.06 * k, 9)
        ys = yl - 0.03 * np.cos(xs * 2.5) - 0.03 * max(bi, 0.0) * np.exp(-((xs / 0.2) ** 2))
        lines.line(_curve(xs, ys), fl * (1 - 0.2 * k), 0.013)
    for sgn in (-1.0, 1.0):
        gx = sgn * 0.05
        lines.line(np.array([(gx, yb - 0.02), (gx * 0.8, yb + 0.1)]), 0.45 * bk * g, 0.015)

    # ---- nose -------------------------------------------------------------------------------
    ny, nw = geo["nose_y"], geo["nose_hw"]
    for sgn in (-1.0, 1.0):
        wing = _ellipse(sgn * nw * 0.8, ny - 0.005, nw * 0.34, 0.075, 24)
        wing = wing[sgn * wing[:, 0] > nw * 0.62]
        wing = wing[np.argsort(wing[:, 1])]
        lines.line(wing, 0.5, 0.02)
        cv.fill(
            _ellipse(sgn * nw * 0.42, ny + 0.02, nw * 0.25, 0.024, 16, sgn * 0.3),
            _mix(skin, (0.1, 0.05, 0.05), 0.8),
        )
    nwk = a["nose_wrinkle"]
    for k in range(3):
        yk = _lerp(0.0, ny * 0.55, 0.35 + 0.22 * k)
        lines.line(
            np.array([(-0.09, yk + 0.015), (0.0, yk), (0.09, yk + 0.015)]), 0.55 * nwk, 0.014
        )

    # ---- mouth ------------------------------------------------------------------------------
    mc = a["mouth_corner"]
    mw = geo["mouth_w"]
    mline = geo["mouth_line"]
    nl = 0.08 + 0.5 * m["nasolabial"] + 0.3 * cr + 0.25 * max(mc, 0.0) + 0.2 * nwk
    for sgn in (-1.0, 1.0):
        fold = _bezier(
            (sgn * (nw + 0.05), ny - 0.04),
            (sgn * (nw + 0.14 + 0.05 * max(mc, 0.0)), _lerp(ny, m["mouth_y"], 0.55)),
            (sgn * (mw + 0.07), mline[-1, 1] + 0.06),
        )
        lines.line(fold, min(nl, 0.8) * _lerp(0.4, 1.0, g), 0.022)
        end = mline[-1] * (sgn, 1.0)
        lines.line(
            np.array([_shift(end, sgn * 0.02, 0.03), _shift(end, sgn * 0.06, 0.22)]),
            0.4 * m["marionette"],
            0.016,
        )
    ui, li = geo["mouth_inner"]
    is_open = geo["mouth_open"] > 0.004
    if is_open:  # dark interior, tongue and teeth; the lips drawn next hide their overshoot
        env = geo["mouth_env"]
        gap = float(li[10, 1] - ui[10, 1])
        cv.fill(_band(ui, li), (0.16, 0.05, 0.06))
        if gap > 0.03:
            ty = li[10, 1] - 0.2 * gap
            cv.fill(_ellipse(0.0, ty, mw * 0.5, gap * 0.3, 20), (0.55, 0.22, 0.24))
        teeth_a = m["teeth"]
        if teeth_a > 0.02:
            th = min(0.06, 0.5 * gap + 0.02) * _lerp(0.6, 1.0, min(m["age"] / 8.0, 1.0))
            tw = np.abs(np.linspace(-1.0, 1.0, len(env))) < 0.8
            tooth = _mix((0.16, 0.05, 0.06), (0.93, 0.9, 0.84), teeth_a)
            top = ui[tw] - np.array([0.0, 0.01])
            cv.fill(_band(top, ui[tw] + np.outer(env[tw], (0.0, th))), tooth)
            if a["mouth_stretch"] > 0.3:
                bot = li[tw] - np.outer(env[tw], (0.0, 0.7 * th))
                cv.fill(_band(bot, li[tw] + np.array([0.0, 0.01])), tooth * 0.92)
    cv.fill(geo["lip_upper"], col["lip"] * 0.85)
    cv.fill(geo["lip_lower"], col["lip"])
    lt = geo["lower_lip_t"]
    cv.fill(
        _ellipse(0.0, geo["lower_lip_y"] - lt * 0.45, mw * 0.35, lt * 0.22, 16),
        _mix(col["lip"], (1, 1, 1), 0.14),
    )
    if is_open:
        cv.line(ui, (0.2, 0.07, 0.07), 0.012)
    else:
        cv.line(mline, _mix(col["lip"] * 0.4, (0.15, 0.05, 0.05), 0.5), 0.018)

    # ---- front hair -------------------------------------------------------------------------
    front, hairline = _hair_front(m, ident)
    on_head = [front]
    lines.line(_shift(hairline, 0.0, 0.045), 0.22 * amt**2, 0.06)
    if ident.hair_style in {"long", "medium"} and m["hair_length"] > 0.3:
        for sgn in (-1.0, 1.0):
            x0 = sgn * m["face_hw"] * 0.9
            x1 = sgn * (m["cranium_hw"] + 0.12)
            bottom = _lerp(0.2, m["mouth_y"] + 0.15, m["hair_length"])
            lock = np.array(
                [
                    (x0, -0.2),
                    (x1, -0.45),
                    (x1 * 1.04, bottom),
                    (x0 * 1.04, bottom),
                    (x0 * 1.01, 0.3),
                ]
            )
            cv.fill(lock, col["hair"] * 0.9)
            on_head.append(lock)
    alpha = min(1.0, 1.25 * amt - 0.05) * (1.0 - 0.55 * m["crown_thinning"])
    if alpha > 0.99:
        cv.fill(front, col["hair"])
    else:
        # Sparse (infant) or thinning hair: semi-transparent, with a feathered hairline.
        n_outer = len(front) - len(hairline)
        shapes = [front]
        for d in (0.05, 0.1):
            shapes.append(np.vstack([front[:n_outer], _shift(hairline, 0.0, -d)]))
        cv.blend(shapes, col["hair"], alpha)
    strand_col = _mix(col["hair"], col["hair_dark"], 0.8)
    for _ in range(int(3.5 * amt)):
        x0 = rs.uniform(-0.6, 0.6)
        strand = np.array([(x0 * 0.3, -m["head_top"] + 0.08), (x0, m["hairline_y"] - 0.1)])
        cv.line(strand, strand_col, 0.014)
    for _ in range(int(5 * m["age_spots"])):
        sx, sy = rs.uniform(-0.7, 0.7), rs.uniform(-0.6, 0.9)
        lines.fill(_ellipse(sx, sy, 0.03, 0.025, 10), 0.25)
    return on_head


def _paint_shading(sh: _Shading, geo: dict, m: dict[str, float], lx: float) -> None:
    """Soft, low-frequency structure: sockets, nose shadows, cheeks, highlights, sagging."""
    a = geo["au"]
    g = m["growth"]
    cr, mc = a["cheek_raise"], a["mouth_corner"]
    eye_hw, eye_h = m["eye_hw"], m["eye_h"]
    for sgn in (-1.0, 1.0):
        ex = sgn * m["eye_dx"]
        sh.blob("dark", ex + sgn * 0.02, -0.08, eye_hw * 1.25, eye_h * 2.0 + 0.05, 0.44)
        sh.blob("dark", ex * 0.55, -0.05, 0.07, 0.12, 0.15 * g)  # beside the nose bridge
        cx = sgn * _lerp(0.5, 0.53, g)
        cy = _lerp(0.42, 0.45, g) - 0.08 * cr
        sh.blob("blush", cx, cy + 0.03, 0.22, 0.16, 0.3 + 0.45 * m["baby_fat"] + 0.2 * cr)
        sh.blob("light", cx * 0.95, cy - 0.05, 0.15, 0.1, 0.12 + 0.3 * cr)
        sh.blob("dark", cx * 1.05, cy + 0.2, 0.18, 0.06, 0.2 * cr)  # under the raised cheek
        sh.blob("dark", sgn * m["jaw_hw"] * 0.85, geo["chin_y"] - 0.3, 0.1, 0.16, 0.3 * m["jowls"])
        sh.blob("dark", sgn * 0.8 * m["face_hw"], -0.3, 0.12, 0.25, 0.12)  # temples
    # Ageing as soft shadows (under-eye hollows, folds beside the mouth, hollow cheeks): thin
    # wrinkle lines vanish in a 64 px crop and on dark skin, broad shadows do not.
    hollow = _ramp(20.0, 70.0, m["age"]) ** 0.6  # visible from the late twenties
    for sgn in (-1.0, 1.0):
        ex = sgn * m["eye_dx"]
        sh.blob("dark", ex, eye_h * 1.6 + 0.1, eye_hw * 0.9, 0.05, 0.45 * hollow)
        sh.blob("dark", sgn * 0.47, 0.5, 0.13, 0.2, 0.35 * hollow)
        fx = sgn * (geo["nose_hw"] + 0.11)
        sh.blob("dark", fx, _lerp(geo["nose_y"], m["mouth_y"], 0.6), 0.035, 0.16,
                0.5 * m["nasolabial"] * g, -sgn * 0.35)  # fmt: skip
    ny, nw = geo["nose_y"], geo["nose_hw"]
    nb = m["nose_bridge"]
    shade_side = -1.0 if lx > 0 else 1.0
    for sgn in (-1.0, 1.0):
        amp = (0.45 if sgn == shade_side else 0.2) * nb + 0.05
        sh.blob("dark", sgn * (nw * 0.6), ny * 0.55, 0.035, ny * 0.35, amp, -sgn * 0.15)
        sh.blob("dark", sgn * nw * 0.85, ny - 0.01, 0.05, 0.06, 0.25)
    sh.blob("dark", 0.0, ny + 0.05, nw * 0.9, 0.035, 0.55)  # under the nose
    sh.blob("light", 0.0, ny - 0.06, nw * 0.4, 0.05, 0.35)  # nose tip
    sh.blob("light", 0.0, ny * 0.45, 0.035, ny * 0.3, 0.2 * nb)  # bridge
    sh.blob("light", 0.0, -0.75, 0.45, 0.22, 0.28)  # forehead
    stubble = 0.3 * m["stubble"]
    if stubble > 0.004:  # beard shadow: upper lip, chin and jaw
        my, cy_ = m["mouth_y"], geo["chin_y"]
        sh.blob("dark", 0.0, (ny + my) / 2 - 0.01, geo["mouth_w"] + 0.05, 0.05, stubble)
        sh.blob("dark", 0.0, cy_ - 0.12, 0.3, 0.14, stubble)
        for sgn in (-1.0, 1.0):
            sh.blob("dark", sgn * m["jaw_hw"] * 0.8, my + 0.1, 0.2, 0.3, stubble, sgn * 0.5)
    sh.blob("neck", 0.0, geo["chin_y"], m["neck_hw"] * 1.1, 0.22, 0.6)  # shadow under the chin
    cy = m["cranium_cy"]
    top_y = cy - (m["head_top"] + cy) * 0.78
    sh.blob("light", 0.2 * lx, top_y, 0.45, 0.13, 0.45 * m["hair_amount"], -0.2)  # hair sheen
    sh.blob("dark", 0.0, geo["lower_lip_y"] + 0.05, geo["mouth_w"] * 0.5, 0.035, 0.4)
    sh.blob("light", 0.0, geo["chin_y"] - 0.13, 0.15, 0.06, 0.22)
    sh.blob("dark", 0.0, (ny + geo["upper_lip_y"]) / 2, 0.04, 0.05, 0.12)  # philtrum
    mline = geo["mouth_line"]
    for sgn in (-1.0, 1.0):  # mouth corners, deeper when smiling
        sh.blob("dark", sgn * mline[-1, 0], mline[-1, 1], 0.03, 0.025, 0.35 + 0.3 * max(mc, 0.0))
    if mc > 0:
        for sgn in (-1.0, 1.0):  # smile dimples at the corners
            sh.blob(
                "dark",
                sgn * (geo["mouth_w"] + 0.03),
                geo["mouth_line"][-1, 1],
                0.03,
                0.04,
                0.3 * mc,
            )
