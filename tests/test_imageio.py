from pathlib import Path

import numpy as np
import pytest
from bad_inputs import BAD_INPUTS
from PIL import Image

from devfer.faces.imageio import load_rgb


def pattern(size: int = 96) -> Image.Image:
    """Left half red-ish, right half blue-ish, a bright square top-left: orientation shows."""
    arr = np.zeros((size, size, 3), dtype=np.uint8)
    arr[:, : size // 2] = (200, 60, 40)
    arr[:, size // 2 :] = (40, 60, 200)
    arr[4:20, 4:20] = 255
    return Image.fromarray(arr)


@pytest.mark.parametrize("name", [n for n in BAD_INPUTS if n != "huge_jpeg"])
def test_every_bad_input_loads_or_says_why(name: str, tmp_path: Path) -> None:
    writer, filename, status = BAD_INPUTS[name]
    path = tmp_path / filename
    writer(path, pattern())
    loaded = load_rgb(path)
    assert loaded.status == status
    if status == "ok":
        assert loaded.image.mode == "RGB"
        assert loaded.image.size == (96, 96)
    else:
        assert loaded.image is None and loaded.detail


def test_zero_byte_and_not_an_image_say_so(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"")
    assert load_rgb(tmp_path / "a.jpg").detail == "zero-byte file"
    (tmp_path / "b.jpg").write_text("hello")
    assert "not an image" in load_rgb(tmp_path / "b.jpg").detail
    missing = load_rgb(tmp_path / "c.jpg")
    assert missing.status == "missing" and "c.jpg" in missing.detail


def test_truncated_jpeg_is_reported_not_half_decoded(tmp_path: Path) -> None:
    BAD_INPUTS["corrupt_jpeg"][0](tmp_path / "x.jpg", pattern())
    loaded = load_rgb(tmp_path / "x.jpg")
    assert loaded.status == "unreadable"
    assert "truncated" in loaded.detail


def test_colour_conversions_keep_the_picture(tmp_path: Path) -> None:
    img = pattern()
    for name in ("grayscale_jpeg", "cmyk_jpeg", "png_16bit", "rgba_png"):
        writer, filename, _ = BAD_INPUTS[name]
        writer(tmp_path / filename, img)
        arr = np.asarray(load_rgb(tmp_path / filename).image, dtype=float)
        if name in ("cmyk_jpeg",):
            # Colour survives CMYK: the left half stays red, the right half blue.
            assert arr[48, 30, 0] > 150 and arr[48, 90, 2] > 150
        if name == "png_16bit":
            want = np.asarray(img.convert("L"), dtype=float)
            # 16-bit values are scaled to 8 bits, not clipped at 255.
            assert np.abs(arr[..., 0] - want).max() <= 1
        if name == "rgba_png":
            assert np.allclose(arr[50, 2], 127)  # transparent -> mid-grey
            assert arr[50, 40, 0] > 190  # opaque pixels untouched


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    writer, filename, _ = BAD_INPUTS["exif_rotated_jpeg"]
    writer(tmp_path / filename, pattern())
    with Image.open(tmp_path / filename) as raw:
        assert np.asarray(raw)[10, 10].mean() < 200  # stored sideways
    arr = np.asarray(load_rgb(tmp_path / filename).image)
    assert arr[10, 10].mean() > 230  # upright again: the bright square is back top-left
    assert arr[48, 10, 0] > 150  # red on the left


def test_huge_image_is_decoded_small_and_large_ones_refused(tmp_path: Path) -> None:
    writer, filename, _ = BAD_INPUTS["huge_jpeg"]
    path = tmp_path / filename
    writer(path, pattern())
    loaded = load_rgb(path, max_side=1024)
    assert loaded.status == "ok"
    assert max(loaded.image.size) <= 1024
    assert loaded.orig_size == (10000, 10000)
    assert loaded.scale == pytest.approx(max(loaded.image.size) / 10000)
    refused = load_rgb(path, max_pixels=50_000_000)
    assert refused.status == "too_large" and "10000x10000" in refused.detail
