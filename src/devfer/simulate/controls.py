"""Paired control renderings: the evaluation faces drawn again with one development off.

A control face is the same person at the same age, showing the same class at the same
intensity, in the same pose, light and pixel noise (the same render seed), drawn with
expression development off (the adult prototypes at every age) or with face-shape development
off (every face with the proportions of `shape_age`). Scored by the same models, the pairs
split each model's accuracy by age, image by image, into what face shape does and what
expression development does (`devfer.stats.decomposition`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from devfer.simulate.datasets import identities, render_rows, save_jpeg
from devfer.simulate.settings import SimulationSettings, control_settings


def render_controls(
    *,
    name: str,
    control: str,
    settings: SimulationSettings,
    seed: int,
    answer_key: pd.DataFrame,
    manifest: pd.DataFrame,
    image_ids: Iterable[str],
    out_dir: str | Path,
) -> pd.DataFrame:
    """Render `image_ids` of simulated dataset `name` under `control` into `out_dir`.

    Returns their manifest rows with `path` pointing at the control images (image ids,
    subjects, labels and splits unchanged, so the pairs join on `image_id`).
    """
    wanted = set(image_ids)
    rows = answer_key[answer_key["image_id"].isin(wanted)]
    missing = wanted - set(rows["image_id"])
    if missing:
        raise ValueError(
            f"{len(missing)} images to render as controls are not in {name}'s answer key "
            f"(e.g. {sorted(missing)[0]}); re-run the simulate rule for {name}."
        )
    people = identities(answer_key, seed, name)
    drawn = render_rows(rows, people, control_settings(settings, control), f"{name} {control}")
    out = Path(out_dir)
    paths = {}
    for image_id, render in zip(rows["image_id"], drawn, strict=True):
        path = out / image_id.removeprefix(f"{name}/")
        save_jpeg(render.image, path, int(settings.jpeg_quality))
        paths[image_id] = str(path)
    table = manifest[manifest["image_id"].isin(wanted)].copy()
    table["path"] = table["image_id"].map(paths)
    table["control"] = control
    return table.reset_index(drop=True)
