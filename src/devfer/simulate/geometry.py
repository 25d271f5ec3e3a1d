"""Face shapes in face-local coordinates (origin at the centre of the eye line, y pointing down,
1 unit = half the adult cheek-to-cheek width): head outline, hair, and every feature as moved by
the AU vector (:func:`face_geometry`)."""

from __future__ import annotations

import math

import numpy as np

from devfer.simulate.canvas import Points, band, catmull_rom, curve, ellipse
from devfer.simulate.expressions import AU_NAMES
from devfer.simulate.identity import Identity, lerp


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
            (lerp(chw, fhw, 0.65), lerp(cy, 0.22, 0.5)),
            (fhw, 0.22),
            (fhw * 0.96 + 0.8 * cheek, lerp(0.22, b, 0.38)),
            (m["jaw_hw"] + 0.4 * cheek + jowl, lerp(0.22, b, 0.7)),
            (m["chin_hw"] * 1.12 + 0.2 * cheek + 0.6 * jowl, lerp(0.22, b, 0.9)),
            (m["chin_hw"] * 0.55, b - 0.015),
            (0.0, b),
        ]
    )
    return catmull_rom(pts, 5)


def _head_outline(m: dict[str, float], jaw_drop: float) -> Points:
    """Closed head polygon: cranium arc on top, face profile below (mirrored)."""
    right = _face_profile(m, jaw_drop)
    cy = m["cranium_cy"]
    ry = m["head_top"] + cy
    t = np.linspace(0.0, math.pi, 25)[1:-1]
    arc = np.column_stack([m["cranium_hw"] * np.cos(t), cy - ry * np.sin(t)])
    left = right * (-1.0, 1.0)  # runs from the cranium down to the chin
    return np.vstack([right[::-1], arc, left[:-1]])


def hair_front(m: dict[str, float], ident: Identity) -> tuple[Points, Points]:
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
    side_y = lerp(-0.45, 0.12 if long_sides else 0.02, m["hair_amount"])
    t0 = math.asin(min(max((side_y - cy) / hy, -0.95), 0.95))
    t = np.linspace(-t0, math.pi + t0, 31)
    r = 1.0 + 0.035 * np.sin(11.0 * t) * m["hair_amount"] if style == "curly" else 1.0
    outer = np.column_stack([hx * r * np.cos(t), cy - hy * r * np.sin(t)])
    fw = lerp(m["cranium_hw"], m["face_hw"], 0.6) * 0.97
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


def hair_back(m: dict[str, float], ident: Identity, shoulder_y: float) -> Points:
    """Hair behind the head (visible around it and, for long styles, down to the shoulders)."""
    cy = m["cranium_cy"]
    vol = ident.hair_volume * m["hair_amount"]
    hx = m["cranium_hw"] + 0.1 * vol
    hy = m["head_top"] + cy + 0.12 * vol
    style, length = ident.hair_style, m["hair_length"]
    if style in {"long", "medium"} and length > 0.2:
        if style == "long":
            bottom = lerp(m["mouth_y"], shoulder_y + 0.9, length)
            flare = 1.14
        else:
            bottom = lerp(m["nose_y"], m["chin_y"] + 0.1, length)
            flare = 1.06
        ctrl = np.array(
            [
                (0.0, cy - hy),
                (hx * 0.75, cy - hy * 0.75),
                (hx, cy),
                (hx * lerp(1.0, flare, 0.5), lerp(cy, bottom, 0.5)),
                (hx * flare, bottom - 0.3),
                (hx * flare * 0.88, bottom - 0.04),
                (hx * 0.55, bottom + 0.02),
                (0.0, bottom + 0.03),
            ]
        )
        right = catmull_rom(ctrl, 5)
        return np.vstack([right, right[::-1] * (-1.0, 1.0)])
    if style == "curly":
        return ellipse(0.0, cy + 0.1, m["cranium_hw"] + 0.3 * vol, hy + 0.25 * vol + 0.1, 48)
    back = ellipse(0.0, cy, hx, hy, 40)
    back[:, 1] = np.minimum(back[:, 1], 0.3)  # short hair stops above the ears
    return back


def face_geometry(
    m: dict[str, float], ident: Identity, au: np.ndarray, expressiveness: float = 1.0
) -> dict:
    """All feature shapes in face-local coordinates for the given morphology and AU vector.

    ``expressiveness`` scales how far the AUs move features (brows, lids, lips, jaw); the skin
    marks they leave (wrinkles, dimples, cheek shading) keep the unscaled AU strength.
    """
    a = {name: expressiveness * float(au[i]) for i, name in enumerate(AU_NAMES)}
    g = m["growth"]
    geo: dict = {"au": {name: float(au[i]) for i, name in enumerate(AU_NAMES)}}
    open_amt = max(a["mouth_open"], 0.0) * lerp(0.3, 0.27, g)
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
        upper = curve(xs, base - up * np.sin(math.pi * tt**0.9) ** 0.85)
        lower = curve(xs, base + lo * np.sin(math.pi * tt**1.15))
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
        brows.append(band(curve(cxs, cys - 0.5 * th), curve(cxs, cys + 0.5 * th)))
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
        mouth_line=curve(xs, line_y),
        lip_upper=band(curve(xs, uo), curve(xs, ui)),
        lip_lower=band(curve(xs, li), curve(xs, lo_)),
        mouth_inner=(curve(xs, ui), curve(xs, li)),
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
