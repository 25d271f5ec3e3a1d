"""Typed settings for each stage, built once from a validated config.

Each builder takes exactly what one rule depends on, so a rule's `params` change (and the
rule re-runs) only when a setting it reads changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from devfer import CLASSES
from devfer.ages.settings import AgePredictSettings, AgeTrainSettings, GroupSpec
from devfer.calibration.settings import CalibrationSettings
from devfer.comparison.settings import (
    ComparisonSettings,
    CostSettings,
    ScoreSettings,
    replicate_name,
)
from devfer.config.validate import ConfigError, dataset_root, study_datasets
from devfer.evaluate.settings import EvaluationSettings
from devfer.faces.settings import FacesSettings
from devfer.manifest.settings import DatasetSettings, SplitSettings
from devfer.simulate.settings import SimulatedDataset, SimulationSettings
from devfer.train.settings import (
    AffectHeadSettings,
    AugmentSettings,
    GridSettings,
    ModelSettings,
    TrainModelSettings,
)

__all__ = ["study_datasets"]  # re-exported: where the study's stages are described

T = TypeVar("T")

# The expression models a study trains, in the order tables list them.
MODEL_NAMES = ("infant", "adult")


def _build(cls: type[T], block: Mapping[str, Any], **extra: Any) -> T:
    """A settings object from a config block and `extra` values that take precedence.

    Lists become tuples (settings are immutable); keys the class does not have are left out.
    """
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in block.items() if k in names}
    return cls(**{**values, **extra})


def simulation(cfg: Mapping[str, Any]) -> SimulationSettings:
    return _build(SimulationSettings, cfg["simulation"])


def simulated_dataset(cfg: Mapping[str, Any], name: str) -> SimulatedDataset:
    return _build(SimulatedDataset, cfg["simulation"]["datasets"][name])


def dataset(cfg: Mapping[str, Any], name: str) -> DatasetSettings:
    """One dataset as its adapter reads it (keys that only later stages read are left out)."""
    if name not in cfg["datasets"]:
        known = ", ".join(sorted(cfg["datasets"]))
        raise ConfigError(f"dataset '{name}' is not in the config; known datasets: {known}.")
    block = dict(cfg["datasets"][name])
    split = _build(SplitSettings, block.pop("split", {}))
    return _build(DatasetSettings, block, name=name, root=str(dataset_root(cfg, name)), split=split)


def faces(cfg: Mapping[str, Any], name: str) -> FacesSettings:
    no_face = cfg["datasets"][name].get("no_face") or cfg["faces"]["no_face"]
    block = {k: v for k, v in cfg["faces"].items() if k != "no_face"}
    return _build(FacesSettings, block, no_face=no_face)


def age_groups(cfg: Mapping[str, Any]) -> tuple[GroupSpec, ...]:
    return tuple(_build(GroupSpec, g) for g in cfg["ages"]["groups"])


def age_train(cfg: Mapping[str, Any]) -> AgeTrainSettings:
    ages = {k: v for k, v in cfg["ages"].items() if k != "augment"}
    return _build(
        AgeTrainSettings,
        ages,
        seed=cfg["seed"],
        augment=_build(AugmentSettings, cfg["ages"]["augment"]),
    )


def age_predict(cfg: Mapping[str, Any], name: str) -> AgePredictSettings:
    ages = cfg["ages"]
    source = cfg["datasets"][name]["age_source"]
    simulated = name in cfg.get("simulation", {}).get("datasets", {})
    if source == "estimated" and simulated and ages.get("source") == "truth":
        source = "truth"  # the simulation's answer key instead of the estimator
    return AgePredictSettings(groups=age_groups(cfg), age_source=source, device=ages["device"])


def model(cfg: Mapping[str, Any], name: str) -> ModelSettings:
    raw = cfg["models"][name]
    block = {k: v for k, v in raw.items() if k not in ("augment", "valence_arousal")}
    return _build(
        ModelSettings,
        block,
        augment=_build(AugmentSettings, raw["augment"]),
        valence_arousal=_build(AffectHeadSettings, raw["valence_arousal"]),
    )


def train_model(cfg: Mapping[str, Any], name: str) -> TrainModelSettings:
    """What one expression model depends on: its own block, not the other model's."""
    block = cfg["models"]
    return TrainModelSettings(
        name=name, model=model(cfg, name), device=block["device"], precision=block["precision"]
    )


def grid(cfg: Mapping[str, Any]) -> GridSettings:
    return _build(GridSettings, cfg["models"]["grid"])


def grid_point(cfg: Mapping[str, Any], name: str) -> TrainModelSettings:
    """A grid point trains for the grid's own epochs where it sets them."""
    return dataclasses.replace(train_model(cfg, name), grid_epochs=grid(cfg).epochs)


def models(cfg: Mapping[str, Any]) -> list[str]:
    return [m for m in MODEL_NAMES if m in cfg.get("models", {})]


def training_datasets(cfg: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Each model's training data, as data: [dataset, age groups]; never how it is trained
    (so what depends on it is not redone when a learning rate changes)."""
    blocks = {m: model(cfg, m) for m in models(cfg)}
    return {m: [b.dataset, list(b.age_groups or [])] for m, b in blocks.items()}


def evaluation_datasets(cfg: Mapping[str, Any]) -> list[str]:
    """Datasets feeding the age groups: configured, or those the models train on."""
    listed = cfg["evaluation"].get("datasets")
    if listed:
        return list(listed)
    return sorted({cfg["models"][m]["dataset"] for m in models(cfg)})


def evaluation(cfg: Mapping[str, Any]) -> EvaluationSettings:
    groups = cfg["ages"]["groups"]
    block = {k: v for k, v in cfg["evaluation"].items() if k != "datasets"}
    return _build(
        EvaluationSettings,
        block,
        seed=cfg["seed"],
        groups=tuple(g["name"] for g in groups),
        boundaries=tuple(g["min"] for g in groups[1:]),
        device=cfg["models"]["device"],
    )


def calibration(cfg: Mapping[str, Any]) -> CalibrationSettings:
    """The calibration's settings; its simulated studies train as many seeds as the study."""
    block = cfg["calibration"]
    seeds = block.get("seeds") or len(cfg["models"]["seeds"])
    return _build(CalibrationSettings, block, seed=cfg["seed"], seeds=seeds)


def _comparison_block(cfg: Mapping[str, Any]) -> dict[str, Any]:
    block = dict(cfg.get("comparison") or {})
    if not block.get("dataset"):
        raise ConfigError(
            "the comparison needs a dataset: set 'comparison.dataset' to a labelled dataset "
            "under 'datasets' (the embedded config's is fer_sim)."
        )
    return block


def comparison(cfg: Mapping[str, Any]) -> ComparisonSettings:
    """What a comparison run's weights and scores depend on (not which backbone it is)."""
    block = _comparison_block(cfg)
    classes = tuple(block.get("classes") or CLASSES)
    # The seven in their canonical order, whatever order the config lists a subset in.
    classes = tuple(c for c in CLASSES if c in classes)
    return _build(
        ComparisonSettings,
        {
            k: v
            for k, v in block.items()
            if k not in ("augment", "classes", "seeds", "valence_arousal")
        },
        seed=cfg["seed"],
        classes=classes,
        augment=_build(AugmentSettings, block.get("augment") or {}),
        valence_arousal=_build(AffectHeadSettings, block.get("valence_arousal") or {}),
    )


def comparison_scores(cfg: Mapping[str, Any]) -> ScoreSettings:
    block = _comparison_block(cfg)
    return _build(ScoreSettings, block, classes=comparison(cfg).classes, seed=cfg["seed"])


def comparison_cost(cfg: Mapping[str, Any]) -> CostSettings:
    block = _comparison_block(cfg)
    return CostSettings(
        size=block["size"],
        channels=block["channels"],
        num_classes=len(comparison(cfg).classes),
        batch=block["cost_batch"],
        repeats=block["cost_repeats"],
        device=block["device"],
    )


def comparison_replicates(cfg: Mapping[str, Any]) -> list[str]:
    """Run names, one per seed (x fold): `seed2026-fold0`, ... (`replicate_name`)."""
    block = _comparison_block(cfg)
    folds = range(block["folds"]) if block["split"] == "folds" else [None]
    return [replicate_name(s, k) for s in block["seeds"] for k in folds]


def study_fairness(cfg: Mapping[str, Any]) -> ScoreSettings:
    """The fairness audit of the study's models: the seven classes, the evaluation's
    resamples, the comparison block's attributes and permutations."""
    block = cfg["comparison"]  # validated: the schema's defaults are filled in
    return ScoreSettings(
        classes=CLASSES,
        n_boot=cfg["evaluation"]["n_boot"],
        fairness=tuple(block["fairness"]),
        n_permutations=block["n_permutations"],
        seed=cfg["seed"],
    )
