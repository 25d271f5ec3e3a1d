"""Where the workflow keeps a dataset's files: one contract for rules, scripts and the CLI.

A stage that reads aligned faces takes them as one `DatasetFiles`; the rules name the same
files with `dataset_inputs`, so the layout is written down once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DatasetFiles:
    """A dataset's aligned faces: faces table, manifest and crop store."""

    faces: str
    manifest: str
    store: str

    @classmethod
    def of(cls, name: str, results: str | Path = "results") -> DatasetFiles:
        root = Path(results)
        return cls(
            faces=str(root / "faces" / f"{name}.parquet"),
            manifest=str(root / "manifests" / f"{name}.parquet"),
            store=str(root / "faces" / f"{name}.npy"),
        )

    @classmethod
    def from_input(cls, inputs: Mapping[str, str], prefix: str = "") -> DatasetFiles:
        """Back from a rule's named inputs (`dataset_inputs`)."""
        return cls(**{f.name: inputs[f"{prefix}{f.name}"] for f in fields(cls)})


def ages_file(name: str, results: str | Path = "results") -> str:
    return str(Path(results) / "ages" / f"{name}.parquet")


def dataset_inputs(name: str, prefix: str = "", results: str | Path = "results") -> dict[str, str]:
    """A rule's named inputs for one dataset's aligned faces."""
    return {f"{prefix}{k}": v for k, v in asdict(DatasetFiles.of(name, results)).items()}


@dataclass(frozen=True)
class EvaluationData:
    """One evaluation dataset: its aligned faces and its ages table."""

    files: DatasetFiles
    ages: str


def evaluation_inputs(datasets: Sequence[str]) -> dict[str, str]:
    """Named inputs for the evaluation datasets: `{dataset}__{file}` → path, so the script
    gets them back by name rather than by position in a flat list."""
    out: dict[str, str] = {}
    for name in datasets:
        out.update(dataset_inputs(name, prefix=f"{name}__"))
        out[f"{name}__ages"] = ages_file(name)
    return out


def evaluation_data(inputs: Mapping[str, str], datasets: Sequence[str]) -> list[EvaluationData]:
    """The evaluation datasets' files back from a rule's named inputs, in the given order."""
    return [
        EvaluationData(
            files=DatasetFiles.from_input(inputs, prefix=f"{name}__"), ages=inputs[f"{name}__ages"]
        )
        for name in datasets
    ]


def control_files(name: str, control: str, results: str | Path = "results") -> DatasetFiles:
    """A simulated dataset's paired control renderings (`simulation.controls`), aligned."""
    root = Path(results) / "controls" / name / control
    return DatasetFiles(
        faces=str(root / "faces.parquet"),
        manifest=str(root / "manifest.parquet"),
        store=str(root / "faces.npy"),
    )


def control_predictions(model: str, control: str, results: str | Path = "results") -> str:
    return str(Path(results) / "predictions" / "controls" / control / f"{model}.parquet")


def control_inputs(datasets: Sequence[str], control: str) -> dict[str, str]:
    """Named inputs like `evaluation_inputs`, for the control renderings of `datasets`: their
    own faces, with the ages (and so the age groups) of the faces they pair with."""
    out: dict[str, str] = {}
    for name in datasets:
        files = asdict(control_files(name, control))
        out.update({f"{name}__{k}": v for k, v in files.items()})
        out[f"{name}__ages"] = ages_file(name)
    return out


@dataclass(frozen=True)
class TrainingData:
    """What a model trains on, as data: its dataset's faces, and the ages that pick its age
    groups when it trains on some only. Enough to know which faces it never saw."""

    files: DatasetFiles
    ages: str | None = None
    age_groups: tuple[str, ...] | None = None


def training_inputs(
    models: Mapping[str, Sequence[Any]], results: str | Path = "results"
) -> dict[str, str]:
    """Named inputs `{model}__{file}` for each model's [dataset, age_groups]
    (`config.settings.training_datasets`)."""
    out: dict[str, str] = {}
    for model, (dataset, age_groups) in models.items():
        out.update(dataset_inputs(dataset, prefix=f"{model}__", results=results))
        if age_groups:
            out[f"{model}__ages"] = ages_file(dataset, results)
    return out


def training_data(
    inputs: Mapping[str, str], models: Mapping[str, Sequence[Any]]
) -> list[TrainingData]:
    """Each model's `TrainingData` back from a rule's named inputs (`training_inputs`)."""
    return [
        TrainingData(
            files=DatasetFiles.from_input(inputs, prefix=f"{model}__"),
            ages=inputs.get(f"{model}__ages"),
            age_groups=tuple(age_groups) if age_groups else None,
        )
        for model, (_, age_groups) in models.items()
    ]
