"""Painting a face: its colours (:func:`palette`), the hard-edged layers back to front
(:func:`paint_canvas`) and the soft shading that detectors trained on photographs key on
(:func:`paint_shading`)."""

from __future__ import annotations

import numpy as np

from devfer.simulate.canvas import (
    Canvas,
    LineLayer,
    Points,
    Shading,
    band,
    bezier,
    curve,
    ellipse,
    mix,
    shift,
)
from devfer.simulate.geometry import hair_back, hair_front
from devfer.simulate.identity import Identity, lerp, ramp


def palette(m: dict[str, float], ident: Identity, cloth: np.ndarray) -> dict[str, np.ndarray]:
    """Colours of one render; hair greys and infant skin is slightly pinker."""
    skin = np.asarray(ident.skin_tone, dtype=float)
    # Ageing skin: slightly duller and less saturated.
    skin = mix(skin, np.full(3, skin.mean() * 0.97), 0.22 * min(m["senescence"], 1.0))
    if m["age"] < 3:
        skin = mix(skin, skin * (1.04, 0.95, 0.95), 1 - m["age"] / 3)
    hair = mix(ident.hair_color, (0.78, 0.77, 0.76), m["grey"])
    brow = mix(ident.hair_color, (0.7, 0.7, 0.7), 0.4 * m["grey"]) * 0.45
    brow = mix(brow, skin, 1.0 - m["brow_alpha"])
    lip = mix(skin * np.array([0.86, 0.6, 0.6]), (0.62, 0.25, 0.28), 0.2)
    return {
        "skin": skin,
        "deep": skin * np.array([0.42, 0.32, 0.30]),
        "light": mix(skin, (1.0, 0.97, 0.94), 0.35),
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


def paint_canvas(
    cv: Canvas,
    lines: LineLayer,
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
    back = hair_back(m, ident, shoulder_y)
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
    ear_y = lerp(0.1, 0.26, g)
    for sgn in (-1.0, 1.0):
        ex = sgn * (m["face_hw"] * 0.97 + 0.04)
        cv.fill(ellipse(ex, ear_y, 0.13 * ear_s, 0.25 * ear_s, 18), skin * 0.93)
        cv.fill(
            ellipse(ex + sgn * 0.01, ear_y, 0.06 * ear_s, 0.15 * ear_s, 12), mix(skin, deep, 0.4)
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
        cv.fill(band(upper, lower), col["sclera"])
        cv.fill(band(upper, upper + 0.35 * (lower - upper)), col["sclera_shadow"])
        cv.fill(
            ellipse(ic[0], ic[1], iris_r, iris_r, 20), col["iris"], col["iris_ring"], 0.22 * iris_r
        )
        pr = iris_r * lerp(0.5, 0.42, g)  # infants have relatively large pupils
        cv.fill(ellipse(ic[0], ic[1], pr, pr, 16), (0.04, 0.03, 0.03))
        r4 = iris_r * 0.17
        cv.fill(ellipse(ic[0] + hl_dx, ic[1] - 0.35 * iris_r, r4, r4, 10), (0.98, 0.98, 0.98))
        # Both covers in one polygon (two lobes touching at the eye corners).
        cover = np.array([0.0, 2.2 * iris_r + 0.02])
        cv.fill(np.vstack([upper, (upper - cover)[::-1], lower + cover, lower[::-1]]), skin)
        cv.line(upper, lash_col, lash_w)
        cv.line(shift(upper[-5:], sgn * 0.008, -0.006), lash_col, lash_w * 1.1)
        cv.line(lower[2:], mix(skin, deep, 0.55), 0.014)
        # Lid crease, eye bags, crow's feet (line layer: soft dark marks on the skin).
        crease = shift(upper, 0.0, -eye_h * lerp(0.55, 0.8, g) - 0.25 * up * max(eo, 0.0))
        lines.line(crease[2:-2], 0.25 + 0.25 * g, 0.016)
        bags = shift(lower, 0.0, lo * 0.3 + 0.07)
        lines.line(bags[3:-2], 0.35 * m["eye_bags"], 0.02)
        cf = m["crows_feet"] * (0.4 + 0.35 * cr) + 0.15 * cr * g
        if cf > 0.01:  # a fan of three lines drawn as one polyline through its origin
            p0 = (eye["x_out"] + sgn * 0.04, 0.0)
            fan = [shift(np.array(p0), sgn * 0.11, 0.05 * k) for k in (-1.0, 0.0, 1.0)]
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
        lines.line(curve(xs, ys), fl * (1 - 0.2 * k), 0.013)
    for sgn in (-1.0, 1.0):
        gx = sgn * 0.05
        lines.line(np.array([(gx, yb - 0.02), (gx * 0.8, yb + 0.1)]), 0.45 * bk * g, 0.015)

    # ---- nose -------------------------------------------------------------------------------
    ny, nw = geo["nose_y"], geo["nose_hw"]
    for sgn in (-1.0, 1.0):
        wing = ellipse(sgn * nw * 0.8, ny - 0.005, nw * 0.34, 0.075, 24)
        wing = wing[sgn * wing[:, 0] > nw * 0.62]
        wing = wing[np.argsort(wing[:, 1])]
        lines.line(wing, 0.5, 0.02)
        cv.fill(
            ellipse(sgn * nw * 0.42, ny + 0.02, nw * 0.25, 0.024, 16, sgn * 0.3),
            mix(skin, (0.1, 0.05, 0.05), 0.8),
        )
    nwk = a["nose_wrinkle"]
    for k in range(3):
        yk = lerp(0.0, ny * 0.55, 0.35 + 0.22 * k)
        lines.line(
            np.array([(-0.09, yk + 0.015), (0.0, yk), (0.09, yk + 0.015)]), 0.55 * nwk, 0.014
        )

    # ---- mouth ------------------------------------------------------------------------------
    mc = a["mouth_corner"]
    mw = geo["mouth_w"]
    mline = geo["mouth_line"]
    nl = 0.08 + 0.5 * m["nasolabial"] + 0.3 * cr + 0.25 * max(mc, 0.0) + 0.2 * nwk
    for sgn in (-1.0, 1.0):
        fold = bezier(
            (sgn * (nw + 0.05), ny - 0.04),
            (sgn * (nw + 0.14 + 0.05 * max(mc, 0.0)), lerp(ny, m["mouth_y"], 0.55)),
            (sgn * (mw + 0.07), mline[-1, 1] + 0.06),
        )
        lines.line(fold, min(nl, 0.8) * lerp(0.4, 1.0, g), 0.022)
        end = mline[-1] * (sgn, 1.0)
        lines.line(
            np.array([shift(end, sgn * 0.02, 0.03), shift(end, sgn * 0.06, 0.22)]),
            0.4 * m["marionette"],
            0.016,
        )
    ui, li = geo["mouth_inner"]
    is_open = geo["mouth_open"] > 0.004
    if is_open:  # dark interior, tongue and teeth; the lips drawn next hide their overshoot
        env = geo["mouth_env"]
        gap = float(li[10, 1] - ui[10, 1])
        cv.fill(band(ui, li), (0.16, 0.05, 0.06))
        if gap > 0.03:
            ty = li[10, 1] - 0.2 * gap
            cv.fill(ellipse(0.0, ty, mw * 0.5, gap * 0.3, 20), (0.55, 0.22, 0.24))
        teeth_a = m["teeth"]
        if teeth_a > 0.02:
            th = min(0.06, 0.5 * gap + 0.02) * lerp(0.6, 1.0, min(m["age"] / 8.0, 1.0))
            tw = np.abs(np.linspace(-1.0, 1.0, len(env))) < 0.8
            tooth = mix((0.16, 0.05, 0.06), (0.93, 0.9, 0.84), teeth_a)
            top = ui[tw] - np.array([0.0, 0.01])
            cv.fill(band(top, ui[tw] + np.outer(env[tw], (0.0, th))), tooth)
            if a["mouth_stretch"] > 0.3:
                bot = li[tw] - np.outer(env[tw], (0.0, 0.7 * th))
                cv.fill(band(bot, li[tw] + np.array([0.0, 0.01])), tooth * 0.92)
    cv.fill(geo["lip_upper"], col["lip"] * 0.85)
    cv.fill(geo["lip_lower"], col["lip"])
    lt = geo["lower_lip_t"]
    cv.fill(
        ellipse(0.0, geo["lower_lip_y"] - lt * 0.45, mw * 0.35, lt * 0.22, 16),
        mix(col["lip"], (1, 1, 1), 0.14),
    )
    if is_open:
        cv.line(ui, (0.2, 0.07, 0.07), 0.012)
    else:
        cv.line(mline, mix(col["lip"] * 0.4, (0.15, 0.05, 0.05), 0.5), 0.018)

    # ---- front hair -------------------------------------------------------------------------
    front, hairline = hair_front(m, ident)
    on_head = [front]
    lines.line(shift(hairline, 0.0, 0.045), 0.22 * amt**2, 0.06)
    if ident.hair_style in {"long", "medium"} and m["hair_length"] > 0.3:
        for sgn in (-1.0, 1.0):
            x0 = sgn * m["face_hw"] * 0.9
            x1 = sgn * (m["cranium_hw"] + 0.12)
            bottom = lerp(0.2, m["mouth_y"] + 0.15, m["hair_length"])
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
            shapes.append(np.vstack([front[:n_outer], shift(hairline, 0.0, -d)]))
        cv.blend(shapes, col["hair"], alpha)
    strand_col = mix(col["hair"], col["hair_dark"], 0.8)
    for _ in range(int(3.5 * amt)):
        x0 = rs.uniform(-0.6, 0.6)
        strand = np.array([(x0 * 0.3, -m["head_top"] + 0.08), (x0, m["hairline_y"] - 0.1)])
        cv.line(strand, strand_col, 0.014)
    for _ in range(int(5 * m["age_spots"])):
        sx, sy = rs.uniform(-0.7, 0.7), rs.uniform(-0.6, 0.9)
        lines.fill(ellipse(sx, sy, 0.03, 0.025, 10), 0.25)
    return on_head


def paint_shading(sh: Shading, geo: dict, m: dict[str, float], lx: float) -> None:
    """Soft, low-frequency structure: sockets, nose shadows, cheeks, highlights, sagging."""
    a = geo["au"]
    g = m["growth"]
    cr, mc = a["cheek_raise"], a["mouth_corner"]
    eye_hw, eye_h = m["eye_hw"], m["eye_h"]
    for sgn in (-1.0, 1.0):
        ex = sgn * m["eye_dx"]
        sh.blob("dark", ex + sgn * 0.02, -0.08, eye_hw * 1.25, eye_h * 2.0 + 0.05, 0.44)
        sh.blob("dark", ex * 0.55, -0.05, 0.07, 0.12, 0.15 * g)  # beside the nose bridge
        cx = sgn * lerp(0.5, 0.53, g)
        cy = lerp(0.42, 0.45, g) - 0.08 * cr
        sh.blob("blush", cx, cy + 0.03, 0.22, 0.16, 0.3 + 0.45 * m["baby_fat"] + 0.2 * cr)
        sh.blob("light", cx * 0.95, cy - 0.05, 0.15, 0.1, 0.12 + 0.3 * cr)
        sh.blob("dark", cx * 1.05, cy + 0.2, 0.18, 0.06, 0.2 * cr)  # under the raised cheek
        sh.blob("dark", sgn * m["jaw_hw"] * 0.85, geo["chin_y"] - 0.3, 0.1, 0.16, 0.3 * m["jowls"])
        sh.blob("dark", sgn * 0.8 * m["face_hw"], -0.3, 0.12, 0.25, 0.12)  # temples
    # Ageing as soft shadows (under-eye hollows, folds beside the mouth, hollow cheeks): thin
    # wrinkle lines vanish in a 64 px crop and on dark skin, broad shadows do not.
    hollow = ramp(20.0, 70.0, m["age"]) ** 0.6  # visible from the late twenties
    for sgn in (-1.0, 1.0):
        ex = sgn * m["eye_dx"]
        sh.blob("dark", ex, eye_h * 1.6 + 0.1, eye_hw * 0.9, 0.05, 0.45 * hollow)
        sh.blob("dark", sgn * 0.47, 0.5, 0.13, 0.2, 0.35 * hollow)
        fx = sgn * (geo["nose_hw"] + 0.11)
        fy = lerp(geo["nose_y"], m["mouth_y"], 0.6)
        sh.blob("dark", fx, fy, 0.035, 0.16, amp=0.5 * m["nasolabial"] * g, angle=-sgn * 0.35)
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
