"""Drawing primitives of the renderer: colours, curves, and the three layers a face is drawn on.

1. :class:`Canvas`: hard-edged shapes on a 2x supersampled Pillow canvas, anti-aliased by the
   final 2x box reduction;
2. :class:`LineLayer`: thin dark marks (wrinkles, folds, lid creases) at the same resolution;
3. :class:`Shading`: soft low-frequency shading from analytic Gaussian blobs at output
   resolution.

Shapes are given in face-local coordinates and mapped through one similarity transform (the
pose), so every feature, and every landmark, goes through the same mapping.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

Color = tuple[float, float, float] | np.ndarray
Points = np.ndarray  # (n, 2) face-local coordinates


def _rgb(color: Color) -> tuple[int, int, int]:
    r, g, b = color.tolist() if isinstance(color, np.ndarray) else color
    return (
        int(255.0 * min(max(r, 0.0), 1.0) + 0.5),
        int(255.0 * min(max(g, 0.0), 1.0) + 0.5),
        int(255.0 * min(max(b, 0.0), 1.0) + 0.5),
    )


def mix(a: Color, b: Color, t: float) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    return a + (np.asarray(b, dtype=float) - a) * t


def hsv(h: float, s: float, v: float) -> np.ndarray:
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


_CIRCLES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 40, angle: float = 0.0) -> Points:
    if n not in _CIRCLES:
        t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
        _CIRCLES[n] = (np.cos(t), np.sin(t))
    cos_t, sin_t = _CIRCLES[n]
    x, y = rx * cos_t, ry * sin_t
    if angle:
        ca, sa = math.cos(angle), math.sin(angle)
        x, y = ca * x - sa * y, sa * x + ca * y
    return np.column_stack([cx + x, cy + y])


def catmull_rom(points: Points, n_per_seg: int = 6) -> Points:
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


def bezier(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float]) -> Points:
    """Quadratic Bezier curve (9 points) from ``p0`` to ``p2`` pulled towards ``p1``."""
    t = _BEZIER_T
    return (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * np.asarray(p1) + t**2 * np.asarray(p2)


def band(upper: Points, lower: Points) -> Points:
    """Closed polygon between two curves sampled in the same direction."""
    return np.vstack([upper, lower[::-1]])


def shift(pts: Points, dx: float, dy: float) -> Points:
    return pts + np.array([dx, dy])


def curve(xs: np.ndarray, ys: np.ndarray) -> Points:
    return np.column_stack([xs, ys])


class Canvas:
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


class LineLayer:
    """Grey-level layer of thin dark marks (wrinkles, folds, creases) on the 2x canvas grid."""

    def __init__(self, canvas: Canvas) -> None:
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


class Shading:
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
        yy, xx = pixel_grid(size)
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


_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) pixel-centre coordinate grids, cached per size (read-only)."""
    if size not in _GRIDS:
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        yy.setflags(write=False)
        xx.setflags(write=False)
        _GRIDS[size] = (yy, xx)
    return _GRIDS[size]
