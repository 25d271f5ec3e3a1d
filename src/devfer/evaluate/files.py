"""The evaluate stage's input files: one contract for the rule and its script.

The rule names each evaluation dataset's files `{dataset}__{file}`; the script gets them
back by the same names, so neither side depends on the order of a flat list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class EvaluationData:
    """One evaluation dataset's files: aligned faces, manifest, crop store and ages."""

    faces: str
    manifest: str
    store: str
    ages: str


def _dataset_files(name: str) -> EvaluationData:
    return EvaluationData(
        faces=f"results/faces/{name}.parquet",
        manifest=f"results/manifests/{name}.parquet",
        store=f"results/faces/{name}.npy",
        ages=f"results/ages/{name}.parquet",
    )


def evaluation_inputs(datasets: Sequence[str]) -> dict[str, str]:
    """The rule's named inputs for the evaluation datasets: `{dataset}__{file}` → path."""
    return {
        f"{name}__{kind}": path
        for name in datasets
        for kind, path in asdict(_dataset_files(name)).items()
    }


def evaluation_data(inputs: Mapping[str, str], datasets: Sequence[str]) -> list[EvaluationData]:
    """The evaluation datasets' files back from a rule's named inputs."""
    return [
        EvaluationData(**{f.name: inputs[f"{name}__{f.name}"] for f in fields(EvaluationData)})
        for name in datasets
    ]
