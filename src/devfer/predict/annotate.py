"""Boxes and `emotion p · age group` labels drawn on a picture."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from devfer.predict.faces import Face

#: One colour per class, readable on photos (Okabe-Ito).
COLOURS = {
    "angry": (213, 94, 0), "disgust": (0, 158, 115), "fear": (204, 121, 167),
    "happy": (240, 228, 66), "sad": (0, 114, 178), "surprise": (86, 180, 233),
    "neutral": (220, 220, 220),
}  # fmt: skip


def label_text(label: dict[str, Any]) -> str:
    emotion = str(label.get("emotion", "?"))
    text = f"{emotion} {label.get(f'prob_{emotion}', float('nan')):.2f}"
    if label.get("age_group"):
        text += f" · {label['age_group']}"
    return text


def draw_faces(
    picture: Image.Image, faces: Sequence[Face], labels: Sequence[dict[str, Any]]
) -> Image.Image:
    """A copy of `picture` with each face's box and label."""
    out = picture.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    size = max(10, round(min(out.size) / 40))
    font = ImageFont.load_default(size)
    for face, label in zip(faces, labels, strict=True):
        x0, y0, x1, y1 = (float(v) for v in face.box)
        colour = COLOURS.get(str(label.get("emotion")), (255, 255, 255))
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=max(2, size // 5))
        text = label_text(label)
        left, top, right, bottom = draw.textbbox((x0, y0), text, font=font)
        lift = bottom - top + 4
        y = y0 - lift if y0 - lift >= 0 else y1 + 2
        draw.rectangle((x0, y, x0 + right - left + 4, y + lift), fill=colour)
        draw.text((x0 + 2, y + 1), text, fill=(0, 0, 0), font=font)
    return out
