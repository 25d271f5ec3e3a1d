"""Loading and validating a study config: every mistake is reported by its key path."""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# Which simulated format each adapter reads, so the embedded study exercises the real adapters.
SIMULATED_FORMAT_ADAPTER = {
    "tif": "folder_per_class",
    "affectnet": "affectnet",
    "utkface": "utkface",
    "fer2013": "fer2013",
}
SIMULATION_ROOT = "results/simulation"


class ConfigError(ValueError):
    """A config problem, with a message that names the key and the fix."""


def load_schema() -> dict[str, Any]:
    text = resources.files("devfer.config").joinpath("config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _key_path(path: Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "(top level)"


def _subschema(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return root["$defs"][name]
    return schema


def _describe(error: jsonschema.ValidationError, root: dict[str, Any]) -> str:
    where = _key_path(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(_subschema(error.schema, root).get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        msgs = []
        for key in extra:
            full = f"{where}.{key}" if error.absolute_path else key
            hint = difflib.get_close_matches(key, allowed, n=1)
            fix = f" Did you mean '{hint[0]}'?" if hint else f" Allowed keys: {', '.join(allowed)}."
            msgs.append(f"config key '{full}' is not a known setting.{fix}")
        return " ".join(msgs)
    if error.validator == "required":
        return f"config key '{where}' is missing a required setting: {error.message}."
    if error.validator == "enum":
        options = ", ".join(repr(v) for v in error.validator_value)
        return f"config key '{where}' is {error.instance!r}; it must be one of {options}."
    if error.validator == "oneOf":
        hint = _subschema(error.schema, root).get("description", "").strip().split(". ")[0]
        return f"config key '{where}' is {error.instance!r}. {hint}."
    if error.validator == "type":
        return (
            f"config key '{where}' is {error.instance!r} ({type(error.instance).__name__}); "
            f"it must be of type {error.validator_value}."
        )
    return f"config key '{where}': {error.message}."


def _fill_defaults(instance: Any, schema: dict[str, Any], root: dict[str, Any]) -> None:
    schema = _subschema(schema, root)
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        sub = _subschema(sub, root)
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra, root)


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate against the JSON Schema and cross-field rules; return a copy with defaults.

    Raises ConfigError listing every problem, each with its key path.
    """
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [_describe(e, schema) for e in errors]
        raise ConfigError("Invalid config:\n  - " + "\n  - ".join(lines))
    cfg = copy.deepcopy(dict(config))
    _fill_defaults(cfg, schema, schema)
    problems = _cross_checks(cfg)
    if problems:
        raise ConfigError("Invalid config:\n  - " + "\n  - ".join(problems))
    return cfg


def _cross_checks(cfg: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    simulated = cfg.get("simulation", {}).get("datasets", {})
    for name, sim in simulated.items():
        if name not in cfg["datasets"]:
            problems.append(
                f"config key 'simulation.datasets.{name}' has no entry under 'datasets'; "
                f"add datasets.{name} with format: {SIMULATED_FORMAT_ADAPTER[sim['format']]}."
            )
            continue
        want = SIMULATED_FORMAT_ADAPTER[sim["format"]]
        if cfg["datasets"][name]["format"] != want:
            problems.append(
                f"config key 'datasets.{name}.format' is {cfg['datasets'][name]['format']!r}, "
                f"but the simulation writes it in {sim['format']} layout; use format: {want}."
            )
        lo, hi = sim["age"]
        if lo > hi:
            problems.append(f"config key 'simulation.datasets.{name}.age' must be [min, max].")
    for name, ds in cfg["datasets"].items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_\-]*", name):
            problems.append(
                f"dataset name '{name}' may hold only letters, digits, '_' and '-' "
                "(it becomes part of file names)."
            )
        if name not in simulated and "root" not in ds:
            problems.append(
                f"config key 'datasets.{name}.root' is missing: set it to the folder where "
                f"you unpacked the {ds['format']} dataset."
            )
        split = ds["split"]
        total = split["train"] + split["val"] + split["test"]
        if abs(total - 1.0) > 1e-6:
            problems.append(
                f"config key 'datasets.{name}.split': train + val + test is {total:g}, not 1."
            )
        pattern = ds.get("subject_pattern")
        if pattern is not None:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                problems.append(
                    f"config key 'datasets.{name}.subject_pattern' is not a valid regex: {exc}."
                )
            else:
                if "subject" not in compiled.groupindex:
                    problems.append(
                        f"config key 'datasets.{name}.subject_pattern' needs a named group "
                        "(?P<subject>...)."
                    )
        if ds["format"] == "csv" and ("csv" not in ds or "columns" not in ds):
            problems.append(
                f"config keys 'datasets.{name}.csv' and 'datasets.{name}.columns' are required "
                "for format: csv."
            )
        if ds.get("no_face") == "dataset_box" and ds["format"] not in ("affectnet", "csv"):
            problems.append(
                f"config key 'datasets.{name}.no_face' is 'dataset_box', but {ds['format']} "
                "datasets carry no face box; use skip or center_crop."
            )
    problems += _age_checks(cfg)
    problems += _model_checks(cfg)
    problems += _simulation_checks(cfg)
    problems += _comparison_checks(cfg)
    for name in cfg["evaluation"].get("datasets") or []:
        if name not in cfg["datasets"]:
            problems.append(
                f"config key 'evaluation.datasets' names '{name}', which is not under 'datasets'."
            )
    return problems


LABELLED_FORMATS = ("folder_per_class", "affectnet", "fer2013")


def _simulation_checks(cfg: dict[str, Any]) -> list[str]:
    """Options that only a simulated study can honour."""
    problems: list[str] = []
    simulated = cfg.get("simulation", {}).get("datasets", {})
    if cfg["ages"].get("source") == "truth":
        real = [n for n, d in cfg["datasets"].items() if n not in simulated and
                d.get("age_source") == "estimated"]  # fmt: skip
        if real:
            problems.append(
                "config key 'ages.source' is 'truth', but only simulated datasets have a true "
                f"age; {', '.join(sorted(real))} would need the estimator. Use "
                "ages.source: estimator, or give those datasets an age_source."
            )
    # The evaluation datasets as settings.evaluation_datasets reads them.
    models = cfg.get("models", {})
    evaluated = cfg["evaluation"].get("datasets") or [
        m["dataset"] for m in models.values() if isinstance(m, dict) and "dataset" in m
    ]
    if cfg.get("simulation", {}).get("controls") and not set(evaluated) & set(simulated):
        problems.append(
            "config key 'simulation.controls' renders control faces of the simulated evaluation "
            "datasets, but no evaluation dataset is simulated; remove simulation.controls."
        )
    return problems


def _model_checks(cfg: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    groups = {g["name"] for g in cfg["ages"]["groups"]}
    for name, model in cfg.get("models", {}).items():
        if not isinstance(model, dict) or "dataset" not in model:
            continue
        ds = cfg["datasets"].get(model["dataset"])
        if ds is None:
            problems.append(
                f"config key 'models.{name}.dataset' is '{model['dataset']}', which is not "
                "under 'datasets'."
            )
        elif not _has_expression_labels(ds):
            problems.append(
                f"config key 'models.{name}.dataset': '{model['dataset']}' has no expression "
                "labels."
            )
        elif model.get("valence_arousal", {}).get("enabled") and not _has_affect_labels(ds):
            problems.append(
                f"config key 'models.{name}.valence_arousal.enabled' is true, but "
                f"'{model['dataset']}' ({ds['format']}) carries no valence or arousal; train "
                "the head on an AffectNet-format set (or a csv with valence and arousal "
                "columns), or set it to false."
            )
        unknown = sorted(set(model.get("age_groups") or []) - groups)
        if unknown:
            problems.append(
                f"config key 'models.{name}.age_groups' names unknown group(s) "
                f"{', '.join(unknown)}; groups are {', '.join(sorted(groups))}."
            )
    return problems


def study_datasets(cfg: Mapping[str, Any]) -> list[str]:
    """The datasets the study itself prepares (manifest, faces, ages): all but one that
    only the comparison reads (its images are used whole, never aligned or aged)."""
    only_compared = (cfg.get("comparison") or {}).get("dataset")
    models = cfg.get("models", {}).values()
    used = {m["dataset"] for m in models if isinstance(m, dict) and "dataset" in m}
    used |= set(cfg.get("evaluation", {}).get("datasets") or [])
    used.add(cfg.get("ages", {}).get("dataset"))
    return sorted(d for d in cfg["datasets"] if d != only_compared or d in used)


def _comparison_checks(cfg: dict[str, Any]) -> list[str]:
    name = (cfg.get("comparison") or {}).get("dataset")
    if name is None:
        return []
    ds = cfg["datasets"].get(name)
    if ds is None:
        known = ", ".join(sorted(cfg["datasets"]))
        return [
            f"config key 'comparison.dataset' is '{name}', which is not under 'datasets' "
            f"(known: {known})."
        ]
    if not _has_expression_labels(ds):
        return [f"config key 'comparison.dataset': '{name}' has no expression labels."]
    head = cfg["comparison"].get("valence_arousal") or {}
    if head.get("enabled") and not _has_affect_labels(ds):
        return [
            f"config key 'comparison.valence_arousal.enabled' is true, but '{name}' "
            f"({ds['format']}) carries no valence or arousal; compare on an AffectNet-format "
            "set (or a csv with valence and arousal columns), or set it to false."
        ]
    return []


def _has_expression_labels(ds: Mapping[str, Any]) -> bool:
    return ds["format"] in LABELLED_FORMATS or (
        ds["format"] == "csv" and "label" in ds.get("columns", {})
    )


def _has_affect_labels(ds: Mapping[str, Any]) -> bool:
    """Whether a dataset's format can carry valence and arousal annotations."""
    if ds["format"] == "csv":
        return {"valence", "arousal"} <= set(ds.get("columns") or {})
    return ds["format"] == "affectnet"


def _has_age_labels(ds: Mapping[str, Any]) -> bool:
    return ds["format"] == "utkface" or (ds["format"] == "csv" and "age" in ds.get("columns", {}))


def _age_checks(cfg: dict[str, Any]) -> list[str]:
    from devfer.ages.groups import parse_groups

    problems: list[str] = []
    ages = cfg["ages"]
    try:
        parse_groups(ages["groups"])
    except ValueError as exc:
        problems.append(f"config key 'ages.groups': {exc}")
    names = [g["name"] for g in ages["groups"]]
    if len(set(names)) != len(names):
        problems.append("config key 'ages.groups' repeats a group name.")
    studied = study_datasets(cfg)  # a dataset only the comparison reads is never aged
    estimated = [
        n for n, ds in cfg["datasets"].items() if ds["age_source"] == "estimated" and n in studied
    ]
    source = ages.get("dataset")
    if source is None and ages["checkpoint"] is None and estimated:
        problems.append(
            "config key 'ages.dataset' is missing: datasets "
            f"{', '.join(estimated)} need estimated ages, so name the age-labelled dataset "
            "to train the estimator on (or give ages.checkpoint)."
        )
    if source is not None:
        if source not in cfg["datasets"]:
            problems.append(
                f"config key 'ages.dataset' is '{source}', which is not under 'datasets'."
            )
        elif not _has_age_labels(cfg["datasets"][source]):
            problems.append(
                f"config key 'ages.dataset': '{source}' has no age labels; use a utkface "
                "dataset or a csv dataset with columns.age."
            )
    for name, ds in cfg["datasets"].items():
        if ds["age_source"] == "labelled" and not _has_age_labels(ds):
            problems.append(
                f"config key 'datasets.{name}.age_source' is 'labelled', but {ds['format']} "
                "datasets carry no ages; use 'estimated' or a known age in years."
            )
    return problems


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and validate it."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings.")
    return validate_config(raw)


def dataset_root(cfg: Mapping[str, Any], name: str) -> Path:
    """Where a dataset's files are: the simulation's output folder or the configured root."""
    if name in cfg.get("simulation", {}).get("datasets", {}):
        return Path(SIMULATION_ROOT) / name
    return Path(cfg["datasets"][name]["root"])


def check_roots(cfg: Mapping[str, Any]) -> None:
    """Stop before any job runs when a real dataset's folder does not exist."""
    simulated = cfg.get("simulation", {}).get("datasets", {})
    problems = [
        f"config key 'datasets.{name}.root' is '{ds['root']}', which does not exist. Set it "
        f"to the folder where you unpacked the {ds['format']} dataset."
        for name, ds in cfg["datasets"].items()
        if name not in simulated and not Path(ds["root"]).is_dir()
    ]
    if problems:
        raise ConfigError("Invalid config:\n  - " + "\n  - ".join(problems))
