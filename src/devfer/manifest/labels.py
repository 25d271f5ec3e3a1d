"""Mapping each dataset's own expression labels onto the seven canonical classes."""

from __future__ import annotations

from collections.abc import Mapping

from devfer import CLASSES

# Spellings seen in public datasets (folder names, CSV values) for each canonical class.
ALIASES: dict[str, str] = {
    **{c: c for c in CLASSES},
    "anger": "angry",
    "angry": "angry",
    "mad": "angry",
    "disgusted": "disgust",
    "disgust": "disgust",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happiness": "happy",
    "joy": "happy",
    "smile": "happy",
    "sadness": "sad",
    "surprised": "surprise",
    "neutrality": "neutral",
    "calm": "neutral",
}

# Source labels known to exist in some datasets but with no canonical class: dropped, with reason.
EXCLUDED: frozenset[str] = frozenset({"contempt", "none", "uncertain", "no-face", "noface"})

# AffectNet (official release): expression codes 0-10.
AFFECTNET_CODES: dict[int, str | None] = {
    0: "neutral",
    1: "happy",
    2: "sad",
    3: "surprise",
    4: "fear",
    5: "disgust",
    6: "angry",
    7: None,  # contempt
    8: None,  # none
    9: None,  # uncertain
    10: None,  # no-face
}
AFFECTNET_NAMES: dict[int, str] = {
    0: "neutral", 1: "happy", 2: "sad", 3: "surprise", 4: "fear", 5: "disgust", 6: "anger",
    7: "contempt", 8: "none", 9: "uncertain", 10: "no-face",
}  # fmt: skip

# FER-2013: emotion codes 0-6.
FER2013_CODES: dict[int, str] = {
    0: "angry", 1: "disgust", 2: "fear", 3: "happy", 4: "sad", 5: "surprise", 6: "neutral",
}  # fmt: skip


class LabelMapper:
    """Maps raw labels to canonical classes; a config mapping overrides the built-in aliases.

    `map(raw)` returns `(canonical, None)` or `(None, reason)`, so every drop has a reason
    that ends up in the QC table.
    """

    def __init__(self, overrides: Mapping[str, str | None] | None = None) -> None:
        self.overrides = {str(k).strip().lower(): v for k, v in (overrides or {}).items()}

    def map(self, raw: object) -> tuple[str | None, str | None]:
        if raw is None or (isinstance(raw, float) and raw != raw):
            return None, "missing_label"
        key = str(raw).strip().lower()
        if key in self.overrides:
            target = self.overrides[key]
            if target is None:
                return None, f"excluded_label:{key}"
            return target, None
        if key in ALIASES:
            return ALIASES[key], None
        if key in EXCLUDED:
            return None, f"excluded_label:{key}"
        return None, f"unknown_label:{key}"
