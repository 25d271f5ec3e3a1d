"""Writers for every kind of bad input the faces stage must survive (shared by tests)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

EXIF_ORIENTATION = 0x0112


def corrupt_jpeg(path: Path, face: Image.Image) -> None:
    buf = io.BytesIO()
    face.save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])  # cut off mid-scan


def zero_byte(path: Path, face: Image.Image) -> None:
    path.write_bytes(b"")


def grayscale_jpeg(path: Path, face: Image.Image) -> None:
    face.convert("L").save(path, "JPEG", quality=95)


def cmyk_jpeg(path: Path, face: Image.Image) -> None:
    face.convert("CMYK").save(path, "JPEG", quality=95)


def rgba_png(path: Path, face: Image.Image) -> None:
    rgba = face.convert("RGBA")
    alpha = np.full(face.size[::-1], 255, dtype=np.uint8)
    alpha[:, : face.size[0] // 8] = 0  # a transparent strip at the left
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(path, "PNG")


def png_16bit(path: Path, face: Image.Image) -> None:
    grey = np.asarray(face.convert("L"), dtype=np.uint16) * 257  # full 16-bit range
    Image.fromarray(grey).save(path, "PNG")  # mode I;16


def huge_jpeg(path: Path, face: Image.Image) -> None:
    face.resize((10000, 10000), Image.Resampling.BILINEAR).save(path, "JPEG", quality=80)


def exif_rotated_jpeg(path: Path, face: Image.Image) -> None:
    # Stored turned a quarter anticlockwise; orientation 6 tells viewers to turn it back.
    stored = face.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    stored.save(path, "JPEG", quality=95, exif=exif.tobytes())


def not_an_image(path: Path, face: Image.Image) -> None:
    path.write_text("name,age\nthis is a CSV file with a .jpg extension,3\n")


# name -> (writer, file name, expected status after loading)
BAD_INPUTS: dict[str, tuple[Callable[[Path, Image.Image], None], str, str]] = {
    "corrupt_jpeg": (corrupt_jpeg, "corrupt.jpg", "unreadable"),
    "zero_byte": (zero_byte, "empty.jpg", "unreadable"),
    "grayscale_jpeg": (grayscale_jpeg, "grey.jpg", "ok"),
    "cmyk_jpeg": (cmyk_jpeg, "cmyk.jpg", "ok"),
    "rgba_png": (rgba_png, "rgba.png", "ok"),
    "png_16bit": (png_16bit, "deep.png", "ok"),
    "huge_jpeg": (huge_jpeg, "huge.jpg", "ok"),
    "exif_rotated_jpeg": (exif_rotated_jpeg, "rotated.jpg", "ok"),
    "not_an_image": (not_an_image, "fake.jpg", "unreadable"),
}
