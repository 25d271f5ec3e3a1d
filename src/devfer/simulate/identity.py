"""Who is drawn and how they sit in the frame: a stable per-person :class:`Identity`, a small
in-plane :class:`Pose`, and :func:`morphology`, the face proportions at a given age (growth
0-22 y, ageing 20-70 y) modulated by the identity."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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


# Skin-tone groups for fairness audits: the palette's light, middle and dark thirds, told
# apart by luminance (Rec. 709), which falls monotonically along the palette.
SKIN_TONE_GROUPS = ("light", "medium", "dark")


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb) @ np.array([0.2126, 0.7152, 0.0722])


def _palette_at(pos: float) -> np.ndarray:
    lo = min(math.floor(pos), len(_SKIN_PALETTE) - 2)
    return _SKIN_PALETTE[lo] + (pos - lo) * (_SKIN_PALETTE[lo + 1] - _SKIN_PALETTE[lo])


_SKIN_CUTS = [float(_luminance(_palette_at(k * (len(_SKIN_PALETTE) - 1) / 3))) for k in (1, 2)]


def skin_tone_group(identity: Identity) -> str:
    """'light', 'medium' or 'dark': which third of the palette the skin was drawn from."""
    lum = float(_luminance(identity.skin_tone))
    return "light" if lum > _SKIN_CUTS[0] else "medium" if lum > _SKIN_CUTS[1] else "dark"


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


def lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def _smoothstep(e0: float, e1: float, x: float) -> float:
    t = min(max((x - e0) / (e1 - e0), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


def ramp(e0: float, e1: float, x: float) -> float:
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
    cranium_hw = face_hw * lerp(1.22, 1.04, g)
    head_top = lerp(1.85, 1.55, g) - 0.03 * s  # the scalp flattens as hair thins
    chin_y = lf * (lerp(1.12, 1.56, g) + 0.06 * p + 0.07 * mp) + 0.05 * s
    eye_hw = identity.eye_size * lerp(0.255, 0.195, g) * (1.0 - 0.1 * s)
    eye_h = eye_hw * lerp(0.44, 0.36, g) * (1.0 - 0.12 * s)
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
        "cranium_cy": lerp(-0.35, -0.2, g),
        "chin_y": chin_y,
        "jaw_hw": face_hw * identity.jaw_width * (lerp(0.84, 0.74, g) + 0.08 * mp) + 0.04 * s,
        "chin_hw": identity.jaw_width * (lerp(0.42, 0.29, g) + 0.07 * mp),
        "eye_hw": eye_hw,
        "eye_h": eye_h,
        "eye_dx": identity.eye_spacing * lerp(0.43, 0.45, g),
        "iris_r": eye_hw * lerp(0.50, 0.41, g),
        "eye_ratio": eye_hw / face_hw,
        "brow_y": -lerp(0.36, 0.30, g) + 0.03 * mp + 0.02 * s,
        "brow_thick": identity.brow_thickness * lerp(0.03, 0.05, g) * (1.0 + 0.2 * mp),
        "brow_alpha": lerp(0.5, 0.92, g),
        "nose_y": lf * identity.nose_length * (lerp(0.40, 0.63, g) + 0.04 * mp) + 0.05 * s,
        "nose_hw": identity.nose_width * (lerp(0.16, 0.21, g) + 0.02 * mp) * (1 + 0.08 * s),
        "nose_bridge": lerp(0.5, 1.0, g),
        "mouth_y": lf * (lerp(0.70, 0.99, g) + 0.05 * mp) + 0.06 * s,
        "mouth_hw": identity.mouth_width * lerp(0.23, 0.34, g) * (1.0 + 0.04 * s),
        "upper_lip": identity.lip_fullness * lerp(0.06, 0.055, g) * (1.0 - 0.4 * s),
        "lower_lip": identity.lip_fullness * lerp(0.075, 0.075, g) * (1.0 - 0.35 * s),
        "teeth": _smoothstep(0.5, 1.5, age),
        "neck_hw": lerp(0.5, 0.4, g) + 0.08 * mp,
        "neck_len": lerp(0.12, 0.38, g),
        "ear_scale": lerp(0.85, 1.0, g) + 0.12 * s,
        "hair_amount": hair_amount,
        "hair_length": min(1.0, age / 9.0),
        "hairline_y": -lerp(1.25, 0.98, g) - 0.35 * identity.balding * _smoothstep(22, 60, age),
        "temple_recession": identity.balding * _smoothstep(20, 50, age),
        "crown_thinning": identity.balding * _smoothstep(35, 70, age),
        "grey": min(1.0, max(0.0, (grey_age - 32.0) / 38.0) ** 1.2),
        "forehead_lines": ramp(22.0, 70.0, age),
        "crows_feet": ramp(28.0, 70.0, age),
        "nasolabial": 0.15 * g + 0.85 * ramp(18.0, 70.0, age),
        "eye_bags": ramp(30.0, 72.0, age),
        "jowls": _smoothstep(42.0, 72.0, age),
        "marionette": _smoothstep(48.0, 72.0, age),
        "age_spots": _smoothstep(50.0, 75.0, age),
        "stubble": identity.beard * _smoothstep(15.0, 22.0, age),
    }
