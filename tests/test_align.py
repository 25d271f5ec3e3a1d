import numpy as np
import pytest
from PIL import Image, ImageDraw

from devfer.faces.align import (
    apply_transform,
    box_transform,
    center_transform,
    similarity_transform,
    template,
    warp,
)


def rotation(deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def test_template_at_112_is_the_reference_template() -> None:
    t = template(112, margin=0.0)
    np.testing.assert_allclose(t[0], [38.2946, 51.6963])
    np.testing.assert_allclose(t[4], [70.7299, 92.2041])
    # A margin pulls the points towards the centre: more context around the face.
    assert np.abs(template(112, 0.2) - 56).max() < np.abs(t - 56).max()


def test_known_landmarks_map_onto_the_template() -> None:
    dst = template(64, margin=0.15)
    # Landmarks of a face rotated 20 degrees, 3x larger and shifted, in a big image.
    src = (dst - 32) @ rotation(20).T * 3.0 + [400.0, 250.0]
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(apply_transform(m, src), dst, atol=1e-9)
    # The recovered scale and angle are the inverse of the ones applied.
    scale = np.sqrt(np.linalg.det(m[:, :2]))
    angle = np.degrees(np.arctan2(m[1, 0], m[0, 0]))
    assert scale == pytest.approx(1 / 3)
    assert angle == pytest.approx(-20)


def test_least_squares_with_noisy_landmarks() -> None:
    dst = template(112)
    src = dst * 2 + 10
    src[0] += [2.0, -1.0]  # one landmark off by a couple of pixels
    m = similarity_transform(src, dst)
    residual = np.linalg.norm(apply_transform(m, src) - dst, axis=1)
    assert residual.max() < 2.0


def test_reflection_is_never_returned() -> None:
    dst = template(64)
    mirrored = dst * [-1, 1] + [64, 0]
    m = similarity_transform(mirrored, dst)
    assert np.linalg.det(m[:, :2]) > 0


def test_degenerate_landmarks_raise() -> None:
    with pytest.raises(ValueError, match="degenerate"):
        similarity_transform(np.ones((5, 2)), template(64))


def test_warp_puts_marked_landmarks_on_the_template() -> None:
    size = 64
    dst = template(size, 0.1)
    src = (dst - 32) @ rotation(-15).T * 4.0 + [300.0, 260.0]
    image = Image.new("RGB", (600, 500), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    for x, y in src:
        draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill=(255, 255, 255))
    crop = warp(image, similarity_transform(src, dst), size)
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    grey = crop.mean(axis=2)
    for x, y in dst:
        # A landmark dot (radius 1.5 px after scaling) lands on each template point.
        r, c = round(y), round(x)
        assert grey[r - 1 : r + 2, c - 1 : c + 2].max() > 120
    assert crop[2, 2].mean() < 10


def test_box_and_center_transforms() -> None:
    m = box_transform((100, 50, 40, 40), size=80, margin=0.0)
    np.testing.assert_allclose(apply_transform(m, [[100, 50], [140, 90]]), [[0, 0], [80, 80]])
    c = center_transform(200, 100, size=50)
    np.testing.assert_allclose(apply_transform(c, [[50, 0], [150, 100]]), [[0, 0], [50, 50]])
