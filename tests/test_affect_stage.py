"""The valence-arousal evaluation and figures as the workflow runs them: prediction tables
in, metrics with the noise ceiling, figures and tables out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from devfer.ages.settings import GroupSpec
from devfer.evaluate.affect import ccc
from devfer.evaluate.settings import EvaluationSettings
from devfer.evaluate.stage import evaluate_affect
from devfer.figures.stage import affect_figures

GROUPS = ("child", "adult")


def _predictions(tmp_path: Path) -> tuple[list[str], str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 120
    truth = rng.uniform(-0.8, 0.8, (n, 2))
    annotated = np.clip(truth + rng.normal(0, 0.1, (n, 2)), -1, 1)
    annotated[::10, 1] = np.nan  # some images have no arousal
    base = pd.DataFrame(
        {
            "image_id": [f"img{k}" for k in range(n)],
            "dataset": "sim",
            "subject_id": [f"s{k // 2}" for k in range(n)],
            "age": np.where(np.arange(n) < 60, 5.0, 30.0),
            "age_group": np.where(np.arange(n) < 60, "child", "adult"),
            "label": "happy",
            "pred": "happy",
            "correct": True,
            "eligible": True,
        }
    )
    adult = base.assign(model="adult", seed=1, valence=annotated[:, 0], arousal=annotated[:, 1])
    adult["valence_pred"] = truth[:, 0] * 0.8
    adult["arousal_pred"] = truth[:, 1] * 0.8
    infant = base.assign(model="infant", seed=1)  # no head: no valence-arousal columns
    files = []
    for name, table in (("adult", adult), ("infant", infant)):
        files.append(str(tmp_path / f"{name}.parquet"))
        table.to_parquet(files[-1])
    key = pd.DataFrame(
        {"image_id": base["image_id"], "valence_true": truth[:, 0], "arousal_true": truth[:, 1]}
    )
    key.to_parquet(tmp_path / "sim.parquet")
    return files, str(tmp_path / "sim.parquet"), adult


def test_valence_arousal_metrics_figures_and_tables(tmp_path: Path) -> None:
    files, key, adult = _predictions(tmp_path)
    settings = EvaluationSettings(seed=0, groups=GROUPS, boundaries=(18.0,), n_boot=50)
    out = tmp_path / "valence_arousal.parquet"
    evaluate_affect(settings=settings, predictions=files, answer_keys=[key], out=str(out))
    table = pd.read_parquet(out)
    assert set(table["model"]) == {"adult"}  # the infant model has no head
    assert list(dict.fromkeys(table["age_group"])) == ["child", "adult", "all"]
    row = table.set_index(["age_group", "dimension", "metric"]).loc[("all", "valence", "ccc")]
    assert row["value"] == pytest.approx(ccc(adult["valence_pred"], adult["valence"]))
    # The ceiling: the noise-free values against the annotations (noise SD 0.1 on a spread
    # of about 0.46), near but below 1.
    assert 0.9 < row["ceiling"] < 1.0 and row["ci_low"] <= row["value"] <= row["ci_high"]
    figures = tmp_path / "figures"
    affect_figures(
        metrics=str(out),
        predictions=[files[0]],
        groups=[GroupSpec("child", 0, 18), GroupSpec("adult", 18, None)],
        ccc_figure=str(figures / "valence_arousal_ccc"),
        circumplex_figures={"adult": str(figures / "circumplex_adult")},
        table_md=str(tmp_path / "va.md"),
        table_tex=str(tmp_path / "va.tex"),
    )
    for stem in ("valence_arousal_ccc", "circumplex_adult"):
        assert (figures / f"{stem}.png").stat().st_size > 0
    assert "CCC" in (tmp_path / "va.md").read_text()


def test_no_head_is_a_clear_error(tmp_path: Path) -> None:
    files, _, _ = _predictions(tmp_path)
    settings = EvaluationSettings(seed=0, groups=GROUPS, boundaries=(18.0,), n_boot=10)
    with pytest.raises(ValueError, match="no model has a valence-arousal head"):
        evaluate_affect(settings=settings, predictions=[files[1]], out=str(tmp_path / "x.pq"))
