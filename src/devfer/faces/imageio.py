"""Reading any image a dataset may hold as 8-bit RGB, or saying precisely why not."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Statuses a load can end with; the faces table records them per image.
OK, MISSING, UNREADABLE, TOO_LARGE = "ok", "missing", "unreadable", "too_large"


@dataclass(frozen=True)
class Loaded:
    """An image ready for detection, or the reason there is none.

    `scale` is loaded pixels per original pixel (< 1 when a large image was decoded
    small), so coordinates map back to the file's own pixel grid.
    """

    status: str
    detail: str = ""
    image: Image.Image | None = None
    scale: float = 1.0
    orig_size: tuple[int, int] = (0, 0)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        # 16-bit data would saturate in Pillow's own conversion: rescale to 8 bits first.
        top = 65535.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if img.mode == "F" and arr.max(initial=0) <= 1.0:
            top = 1.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        # Transparent pixels become mid-grey: neutral for the detector, unlike black or white.
        background = Image.new("RGBA", rgba.size, (127, 127, 127, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB") if img.mode != "RGB" else img


def load_rgb(path: str | Path, max_side: int = 1024, max_pixels: int = 250_000_000) -> Loaded:
    """Decode `path` to RGB, EXIF-upright, longest side at most `max_side`."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return Loaded(MISSING, f"file not found: {path}")
    except OSError as exc:
        return Loaded(UNREADABLE, f"cannot stat file: {exc}")
    if size == 0:
        return Loaded(UNREADABLE, "zero-byte file")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit replaces Pillow's decompression-bomb guard.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            old_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
            try:
                img = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = old_limit
            orig = img.size
            if orig[0] * orig[1] > max_pixels:
                return Loaded(
                    TOO_LARGE,
                    f"{orig[0]}x{orig[1]} pixels exceeds faces.max_pixels={max_pixels}",
                    orig_size=orig,
                )
            if img.format == "JPEG" and max(orig) > max_side:
                # JPEG can decode at 1/2, 1/4, 1/8 scale directly: far faster for huge files.
                img.draft("RGB", (max_side, max_side))
            img.load()
            img = ImageOps.exif_transpose(img)
            img = _to_rgb(img)
    except UnidentifiedImageError:
        return Loaded(UNREADABLE, "not an image (format not recognised)")
    except (OSError, ValueError, SyntaxError) as exc:
        return Loaded(UNREADABLE, f"corrupt or truncated image data: {exc}")
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    scale = max(img.size) / max(orig)
    return Loaded(OK, "", img, scale, orig)
