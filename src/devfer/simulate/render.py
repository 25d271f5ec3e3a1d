"""Procedural face renderer: simulated faces of any age (0-70 y) with one of seven expressions.

The study asks *when* children's facial expressions become adult-like, so every render is
controlled by two separable ingredients:

* **morphology** (:func:`~devfer.simulate.identity.morphology`): head and feature proportions
  that change smoothly and monotonically with age, modulated by a stable per-person identity;
* **expression** (:func:`~devfer.simulate.expressions.expression_config`): an AU vector that
  interpolates between an infant-specific configuration and the adult prototype of the class
  along a logistic developmental curve (:func:`~devfer.simulate.truth.expression_weight`).

Because every feature goes through the same pose transform, the five landmarks returned with
each render are exact ground truth. The soft shading is built analytically instead of with image
blurs, which keeps a 128 px render at about 10 ms of CPU time. The module is pure: no file I/O,
and all randomness comes from the ``rng`` argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from devfer.simulate.canvas import Canvas, LineLayer, Shading, hsv, pixel_grid
from devfer.simulate.expressions import AU_NAMES, SIGNED_AU, check_expression, expression_config
from devfer.simulate.geometry import face_geometry
from devfer.simulate.identity import Identity, Pose, morphology, sample_pose
from devfer.simulate.paint import paint_canvas, paint_shading, palette


@dataclass(frozen=True, eq=False)
class Rendered:
    """One render: the RGB image, exact 5-point landmarks (MTCNN order) and the AUs drawn."""

    image: Image.Image
    landmarks: np.ndarray
    au: np.ndarray


_SUPERSAMPLE = 2
_UNIT_FRACTION = 0.25  # face unit as a fraction of the image size -> face ~50 % of the width
_ANCHOR_Y = 0.46  # where the vertical middle of the head lands (fraction of the image height)
_NOISE_LUT = np.array([NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)])
_NOISE_LUT = (_NOISE_LUT / _NOISE_LUT.std()).astype(np.float32)
# Colour of shadows and of blush, per channel (multiplied out of the skin colour).
_DARK_TINT = np.array([0.52, 0.6, 0.62], dtype=np.float32)
_BLUSH_TINT = np.array([0.0, 0.16, 0.18], dtype=np.float32)


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    """Smooth random background: two-colour gradient plus low-frequency colour texture.

    Built at output resolution and doubled with NEAREST so that the final 2x box reduction
    returns it unchanged (cheaper than interpolating at the supersampled size).
    """
    c0 = hsv(rng.uniform(), rng.uniform(0.05, 0.5), rng.uniform(0.2, 0.95))
    c1 = hsv(rng.uniform(), rng.uniform(0.05, 0.5), rng.uniform(0.2, 0.95))
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
    shape_age: float | None = None,
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
    ``shape_age`` draws the face with that age's proportions instead of ``age``'s (face-shape
    development off); the expression still follows ``age``. Neither option changes the draws
    from ``rng``, so renders that differ only in them are paired: same pose, light, noise.
    """
    check_expression(expression)
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
    au = np.where(SIGNED_AU, np.clip(au, -1.2, 1.2), np.clip(au, 0.0, 1.2))

    light_angle = float(rng.uniform(0.0, 2.0 * math.pi))
    light_strength = float(rng.uniform(0.0, 0.3))
    brightness = float(rng.uniform(0.8, 1.06))
    tint = rng.normal(0.0, 0.025, 3).astype(np.float32)
    cloth = hsv(rng.uniform(), rng.uniform(0.05, 0.7), rng.uniform(0.15, 0.85))
    detail_rng = np.random.default_rng(rng.integers(0, 2**63 - 1))
    canvas = _background(rng, size)
    noise_idx = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)

    m = morphology(age if shape_age is None else shape_age, identity)
    geo = face_geometry(m, identity, au, expressiveness)
    theta = math.radians(pose.rotation_deg)
    unit = _UNIT_FRACTION * size * pose.scale
    c, s = math.cos(theta), math.sin(theta)
    lin = unit * np.array([[c, s], [-s, c]])  # local -> output pixels (y down, CCW rotation)
    mid = 0.5 * (-m["head_top"] + m["chin_y"])
    centre = np.array([size * (0.5 + pose.shift[0]), size * (_ANCHOR_Y + pose.shift[1])])
    off = centre - lin @ np.array([0.0, mid])
    k = _SUPERSAMPLE
    cv = Canvas(canvas, lin * k, off * k + 0.5 * (k - 1), unit * k)
    lines = LineLayer(cv)
    shade = Shading(size, lin, off)
    colors = palette(m, identity, cloth)
    lx, ly = math.cos(light_angle), math.sin(light_angle)
    hair_polys = paint_canvas(cv, lines, geo, m, identity, colors, lx, detail_rng)
    paint_shading(shade, geo, m, lx)

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
    yy, xx = pixel_grid(size)
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
