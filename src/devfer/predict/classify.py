"""What a bundle says about aligned faces: expression probabilities, age and age group, and
valence and arousal where the model has that head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from devfer.ages.groups import bucket, parse_groups
from devfer.predict.bundle import Bundle, BundleError


@dataclass
class Classifier:
    """An expression bundle and, optionally, an age-estimator bundle, used together."""

    expression: Bundle
    age: Bundle | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.expression.kind != "expression":
            raise BundleError(
                f"--model needs an expression model bundle, not {self.expression.kind!r}"
            )
        if self.age is not None and self.age.kind != "age":
            raise BundleError(f"--age-model needs an age-estimator bundle, not {self.age.kind!r}")
        if self.age is not None and self.age.size != self.expression.size:
            raise BundleError(
                f"the age model takes {self.age.size} px faces, the expression model "
                f"{self.expression.size} px: use bundles from one study"
            )
        self.expression.model.to(self.device)
        spec = self.expression.card.get("age_groups") or []
        self.groups = parse_groups(spec) if spec else []
        if self.age is not None:
            from devfer.ages.estimator import AgeHead

            self.age.model.to(self.device)
            self.age_head = AgeHead(self.age.card["head"], self.age.card["max_age"])
            spec = self.age.card.get("age_groups") or []
            self.groups = parse_groups(spec) if spec else self.groups

    @property
    def classes(self) -> list[str]:
        return self.expression.classes

    def __call__(
        self, crops: list[np.ndarray], with_age: Sequence[bool] | None = None
    ) -> list[dict[str, Any]]:
        """One dict per crop: emotion, prob_<class> (and valence, arousal), and age and
        age_group for the crops `with_age` marks (default all; the live loop estimates a
        tracked face's age once a window, not every frame)."""
        if not crops:
            return []
        from devfer.evaluate.predictions import model_outputs

        images = _tensor(crops)
        probs, va = model_outputs(self.expression.model, images, 64, self.device)
        rows: list[dict[str, Any]] = []
        for k in range(len(crops)):
            row: dict[str, Any] = {"emotion": self.classes[int(np.argmax(probs[k]))]}
            row.update({f"prob_{c}": float(probs[k, j]) for j, c in enumerate(self.classes)})
            rows.append(row)
        if va is not None:
            for row, (v, a) in zip(rows, va, strict=True):
                row["valence"], row["arousal"] = float(v), float(a)
        wanted = [k for k in range(len(crops)) if with_age is None or with_age[k]]
        if self.age is not None and wanted:
            for k, age in zip(wanted, self.ages([crops[k] for k in wanted]), strict=True):
                rows[k].update(age)
        return rows

    def ages(self, crops: list[np.ndarray]) -> list[dict[str, Any]]:
        """{age, age_group} per crop (the age bundle's estimate)."""
        from devfer.ages.estimator import predict_ages

        if self.age is None or not crops:
            return [{} for _ in crops]
        ages = predict_ages(
            self.age.model, self.age_head, _tensor(crops), self.groups, device=self.device,
            sigma_fallback=float(self.age.card.get("val_mae", 3.0)),
        )  # fmt: skip
        values = ages["age_pred"].to_numpy()
        named = bucket(values, self.groups) if self.groups else [None] * len(values)
        return [
            {"age": float(a), "age_group": None if g is None else str(g)}
            for a, g in zip(values, named, strict=True)
        ]


def _tensor(crops: list[np.ndarray]) -> torch.Tensor:
    """(N, 3, S, S) uint8 from HWC crops."""
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()
