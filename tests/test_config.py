from pathlib import Path

import pytest
import yaml

from devfer.config import ConfigError, check_roots, load_config, settings, validate_config
from devfer.config.typed import from_params, to_params
from devfer.train.settings import TrainModelSettings

ROOT = Path(__file__).resolve().parents[1]


def minimal() -> dict:
    return {"datasets": {"a": {"format": "utkface", "root": "/data/utk"}}, "ages": {"dataset": "a"}}


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    cfg = load_config(ROOT / "config" / name)
    assert cfg["datasets"]


def test_defaults_are_filled() -> None:
    cfg = validate_config(minimal())
    assert cfg["seed"] == 2026
    assert cfg["faces"]["size"] == 64
    assert cfg["datasets"]["a"]["split"] == {
        "train": 0.7, "val": 0.15, "test": 0.15, "respect_source": True,
    }  # fmt: skip


def test_resources_per_rule_class_have_defaults() -> None:
    resources = validate_config(minimal())["resources"]
    assert set(resources) == {
        "local_heavy_jobs", "light", "faces", "ages", "train", "evaluate", "calibration",
        "comparison",
    }  # fmt: skip
    assert resources["local_heavy_jobs"] == 2
    assert resources["train"] == {"threads": 8, "mem_mb": 16000, "runtime": 720, "gpu": 1}
    # Face alignment takes faces.threads, locally and on a cluster alike.
    cfg = minimal()
    cfg["resources"] = {"faces": {"threads": 4}}
    with pytest.raises(ConfigError, match=r"'resources\.faces\.threads' is not a known setting"):
        validate_config(cfg)


def test_misspelt_key_names_its_path_and_suggests_the_fix() -> None:
    cfg = minimal()
    cfg["faces"] = {"szie": 64}
    with pytest.raises(
        ConfigError, match=r"'faces\.szie' is not a known setting\. Did you mean 'size'"
    ):
        validate_config(cfg)


def test_wrong_type_names_its_path() -> None:
    cfg = minimal()
    cfg["faces"] = {"shards": "two"}
    with pytest.raises(
        ConfigError, match=r"'faces\.shards' is 'two' \(str\); it must be of type integer"
    ):
        validate_config(cfg)


def test_every_problem_is_reported_at_once() -> None:
    cfg = minimal()
    cfg["seed"] = 1.5
    cfg["datasets"]["a"]["no_face"] = "guess"
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    assert "'seed'" in str(err.value) and "'datasets.a.no_face'" in str(err.value)


def test_real_dataset_needs_root() -> None:
    with pytest.raises(ConfigError, match=r"'datasets\.a\.root' is missing"):
        validate_config({"datasets": {"a": {"format": "utkface"}}, "ages": {"dataset": "a"}})


def test_split_fractions_must_sum_to_one() -> None:
    cfg = minimal()
    cfg["datasets"]["a"]["split"] = {"train": 0.8, "val": 0.15, "test": 0.15}
    with pytest.raises(ConfigError, match=r"train \+ val \+ test is 1\.1"):
        validate_config(cfg)


def test_subject_pattern_needs_named_group() -> None:
    cfg = minimal()
    cfg["datasets"]["a"]["subject_pattern"] = "^([^_]+)_"
    with pytest.raises(ConfigError, match=r"\(\?P<subject>"):
        validate_config(cfg)


def test_simulated_dataset_root_and_format() -> None:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["datasets"]["tif_sim"]["format"] = "utkface"
    with pytest.raises(ConfigError, match="use format: folder_per_class"):
        validate_config(cfg)
    cfg = load_config(ROOT / "config" / "config.yaml")
    assert settings.dataset(cfg, "tif_sim").root == "results/simulation/tif_sim"


def test_stage_settings_isolate_datasets() -> None:
    cfg = load_config(ROOT / "config" / "config.yaml")
    before = settings.simulated_dataset(cfg, "tif_sim")
    cfg["simulation"]["datasets"]["utkface_sim"]["n_subjects"] += 1
    assert settings.simulated_dataset(cfg, "tif_sim") == before
    # Running with more threads or shards must not re-align anything.
    faces = settings.faces(cfg, "tif_sim")
    cfg["faces"]["threads"] = 8
    cfg["faces"]["shards"] = 9
    assert settings.faces(cfg, "tif_sim") == faces
    # Editing the adult model leaves the infant model's settings alone.
    infant = settings.train_model(cfg, "infant")
    cfg["models"]["adult"]["lr"] = 0.1
    assert settings.train_model(cfg, "infant") == infant


def test_settings_round_trip_through_rule_params() -> None:
    cfg = load_config(ROOT / "config" / "config.yaml")
    model = settings.train_model(cfg, "adult")
    params = to_params(model)
    # Plain data that Snakemake can compare by repr, and the same object back in the script.
    assert repr(params) == repr(to_params(settings.train_model(cfg, "adult")))
    assert params["model"]["augment"]["stretch"] == 0.2
    assert from_params(TrainModelSettings, params) == model
    assert model.model.age_groups == ("adult",) and model.model.frozen == ("layer1",)


def test_grid_points_train_for_the_grid_epochs() -> None:
    cfg = load_config(ROOT / "config" / "config.yaml")
    cfg["models"]["infant"]["use_grid_best"] = False  # the grid's epochs apply regardless
    assert settings.grid_point(cfg, "infant").grid_epochs == 8
    assert settings.train_model(cfg, "infant").grid_epochs is None
    points = settings.grid(cfg).points
    assert len(points) == 4 and {p.lr for p in points} == {0.0005, 0.002}


def test_missing_dataset_root_names_the_key(tmp_path: Path) -> None:
    cfg = validate_config(
        {"datasets": {"tif": {"format": "folder_per_class", "root": str(tmp_path / "nowhere"),
                              "age_source": 0.67}}}
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"'datasets\.tif\.root' is '.*nowhere', which does"):
        check_roots(cfg)
    (tmp_path / "nowhere").mkdir()
    check_roots(cfg)


def test_estimated_ages_need_an_age_dataset() -> None:
    cfg = {"datasets": {"t": {"format": "folder_per_class", "root": "/t"}}}
    with pytest.raises(ConfigError, match=r"'ages\.dataset' is missing: datasets t need"):
        validate_config(cfg)
    cfg["datasets"]["t"]["age_source"] = 0.67  # a known age needs no estimator
    assert validate_config(cfg)["datasets"]["t"]["age_source"] == 0.67


def test_age_dataset_must_have_ages() -> None:
    cfg = {
        "datasets": {"t": {"format": "folder_per_class", "root": "/t"}},
        "ages": {"dataset": "t"},
    }
    with pytest.raises(ConfigError, match="'t' has no age labels"):
        validate_config(cfg)


def test_bad_age_source_and_groups() -> None:
    cfg = minimal()
    cfg["datasets"]["a"]["age_source"] = "guessed"
    with pytest.raises(ConfigError, match=r"'datasets\.a\.age_source' is 'guessed'\. Where each"):
        validate_config(cfg)
    cfg = minimal()
    cfg["ages"]["groups"] = [{"name": "x", "min": 0, "max": 5}, {"name": "y", "min": 6}]
    with pytest.raises(ConfigError, match="'x' ends at 5 but 'y' starts at 6"):
        validate_config(cfg)


def test_settings_defaults_match_the_schema() -> None:
    """The schema is where defaults are documented; the typed settings must not drift from it."""
    import dataclasses

    from devfer.ages.settings import AgeTrainSettings
    from devfer.config import load_schema
    from devfer.evaluate.settings import EvaluationSettings
    from devfer.faces.settings import FacesSettings
    from devfer.simulate.settings import SimulatedDataset, SimulationSettings
    from devfer.train.settings import AugmentSettings, GridSettings, ModelSettings

    schema = load_schema()
    props = schema["properties"]
    blocks = {
        FacesSettings: props["faces"]["properties"],
        AgeTrainSettings: props["ages"]["properties"],
        EvaluationSettings: props["evaluation"]["properties"],
        SimulationSettings: props["simulation"]["properties"],
        SimulatedDataset: props["simulation"]["properties"]["datasets"]["additionalProperties"][
            "properties"
        ],
        GridSettings: props["models"]["properties"]["grid"]["properties"],
        ModelSettings: schema["$defs"]["model"]["properties"],
        AugmentSettings: schema["$defs"]["augment"]["properties"],
    }
    checked = 0
    for cls, block in blocks.items():
        for f in dataclasses.fields(cls):
            if f.name not in block or "default" not in block[f.name]:
                continue
            want = block[f.name]["default"]
            want = tuple(want) if isinstance(want, list) else want
            if f.default is not dataclasses.MISSING:
                have = f.default
            elif f.default_factory is not dataclasses.MISSING:
                continue  # nested settings: checked as their own block
            else:
                continue
            assert have == want, f"{cls.__name__}.{f.name}: {have!r}, schema {want!r}"
            checked += 1
    assert checked > 40


def _embedded() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_true_ages_replace_the_estimator_for_simulated_data_only() -> None:
    cfg = _embedded()
    cfg["ages"]["source"] = "truth"
    valid = validate_config(cfg)
    assert settings.age_predict(valid, "affectnet_sim").age_source == "truth"
    # Known and labelled ages stay as they are.
    assert settings.age_predict(valid, "tif_sim").age_source == 0.67
    cfg["datasets"]["real"] = {"format": "utkface", "root": "/data/utk"}
    cfg["datasets"]["real"]["age_source"] = "estimated"
    with pytest.raises(ConfigError, match=r"'ages\.source' is 'truth'.*real would need"):
        validate_config(cfg)


def test_controls_need_a_simulated_evaluation_dataset() -> None:
    cfg = _embedded()
    cfg["evaluation"] = {"datasets": ["utkface_sim"]}
    cfg["datasets"]["real"] = {"format": "utkface", "root": "/data/utk"}
    cfg["evaluation"]["datasets"] = ["real"]
    with pytest.raises(ConfigError, match="no evaluation dataset is simulated"):
        validate_config(cfg)
    cfg["simulation"]["controls"] = ["pose_off"]
    with pytest.raises(ConfigError, match="pose_off"):
        validate_config(cfg)


def test_a_valence_arousal_head_needs_a_dataset_with_valence_and_arousal() -> None:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    overlay = yaml.safe_load((ROOT / "config" / "valence_arousal.yaml").read_text())
    cfg["models"]["adult"].update(overlay["models"]["adult"])
    head = settings.model(validate_config(cfg), "adult").valence_arousal
    assert head.enabled and head.loss == "ccc" and head.weight == 1.0
    assert not settings.model(validate_config(cfg), "infant").valence_arousal.enabled
    cfg["models"]["infant"]["valence_arousal"] = {"enabled": True}
    with pytest.raises(
        ConfigError,
        match=r"'models\.infant\.valence_arousal\.enabled' is true, but 'tif_sim' "
        r"\(folder_per_class\) carries no valence or arousal",
    ):
        validate_config(cfg)
