"""One function per workflow stage, called by the Snakemake scripts and the `devfer` CLI.

Each takes the settings the stage depends on (as the rules' params pass them) and paths;
the science lives in the modules they call.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("devfer")


@contextlib.contextmanager
def logged(path: str | Path | None) -> Iterator[None]:
    """Send logging and progress bars (stderr) to a rule's log file for the block's duration."""
    if path is None:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.getLogger("fontTools").setLevel(logging.WARNING)  # per-glyph chatter in PDFs
        old_stderr, sys.stderr = sys.stderr, stream
        try:
            yield
        except Exception as exc:
            from devfer.config import ConfigError
            from devfer.manifest import DatasetError
            from devfer.models import WeightsError

            if isinstance(exc, ConfigError | DatasetError | WeightsError):
                # The message names the file and the fix; a traceback would bury it.
                log.error("%s", exc)
                raise SystemExit(1) from None
            log.exception("stage failed")
            raise
        finally:
            sys.stderr = old_stderr
            root.removeHandler(handler)


def simulate(settings: Mapping[str, Any], dataset: str, out_dir: str, answer_key: str) -> None:
    from devfer.provenance import write_table
    from devfer.simulate import simulate_dataset

    truth = simulate_dataset(dataset, settings["simulation"], settings["seed"], out_dir)
    write_table(truth, answer_key, "simulate", settings)
    log.info("simulated %d images of %s into %s", len(truth), dataset, out_dir)


def truth(midpoint: float, steepness: float, out: str, infant_similarity: float = 0.0) -> None:
    from devfer.provenance import write_table
    from devfer.simulate import truth_curve

    settings = {"midpoint": midpoint, "steepness": steepness,
                "infant_similarity": infant_similarity}  # fmt: skip
    curve = truth_curve(midpoint, steepness, infant_similarity)
    write_table(curve, out, "simulate", settings)


def manifest(
    settings: Mapping[str, Any], out: str, qc_out: str, image_cache: str | None = None
) -> None:
    from devfer.manifest import build_manifest
    from devfer.provenance import write_table

    cache = Path(image_cache) if image_cache else None
    table, qc = build_manifest(settings["dataset"], settings["seed"], cache)
    write_table(table, out, "manifest", settings)
    write_table(qc, qc_out, "manifest", settings)
    dropped = int(qc.loc[qc["action"] == "dropped", "n"].sum())
    log.info(
        "%s: %d images kept %s, %d dropped",
        settings["dataset"]["name"],
        len(table),
        table["split"].value_counts().to_dict(),
        dropped,
    )


def align(
    settings: Mapping[str, Any],
    manifest_path: str,
    shard: int,
    shards: int,
    threads: int,
    out_table: str,
    out_store: str,
    progress: bool = True,
) -> None:
    import numpy as np
    import pandas as pd
    import torch

    from devfer.faces import align_rows, shard_rows
    from devfer.provenance import write_table

    torch.set_num_threads(_threads(threads))
    rows = shard_rows(pd.read_parquet(manifest_path), shard, shards)
    log.info("%s shard %d/%d: %d images", manifest_path, shard + 1, shards, len(rows))
    table, crops = align_rows(rows, settings["faces"], settings["no_face"], progress=progress)
    Path(out_store).parent.mkdir(parents=True, exist_ok=True)
    np.save(out_store, crops)
    write_table(table, out_table, "faces", settings)
    log.info("status counts: %s", table["status"].value_counts().to_dict())


def gather(
    dataset: str,
    tables: Sequence[str],
    stores: Sequence[str],
    out_table: str,
    out_store: str,
    qc_out: str,
) -> None:
    from devfer.faces import gather as gather_shards
    from devfer.faces import status_summary
    from devfer.provenance import read_provenance, write_table

    faces = gather_shards(tables, stores, out_store)
    settings = read_provenance(tables[0]).get("settings", {}) if tables else {}
    write_table(faces, out_table, "faces", settings)
    write_table(status_summary(faces, dataset), qc_out, "faces", settings)
    detected = (faces["align_method"] == "landmarks").mean() if len(faces) else 0.0
    log.info("%s: %d images, %.2f%% faces detected", dataset, len(faces), 100 * detected)


def _threads(requested: int) -> int:
    """Torch threads for a job: what Snakemake gave it, never more than the machine has."""
    import os

    return max(1, min(int(requested), os.cpu_count() or 1))


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def run_rule(smk: Any) -> None:
    """Entry point for workflow/scripts/run_stage.py: run the stage named by the rule."""
    import json

    rule, inp, out, params = smk.rule, smk.input, smk.output, smk.params
    with logged(smk.log[0] if smk.log else None):
        if rule == "simulate":
            simulate(json.loads(params.settings), smk.wildcards.sim, out.images, out.answer_key)
        elif rule == "simulation_truth":
            truth(params.midpoint, params.steepness, out[0], params.infant_similarity)
        elif rule == "manifest":
            manifest(json.loads(params.settings), out.manifest, out.qc, params.image_cache)
        elif rule == "faces_shard":
            align(
                json.loads(params.settings), inp.manifest, int(smk.wildcards.shard),
                params.shards, smk.threads, out.table, out.store,
            )  # fmt: skip
        elif rule == "faces":
            gather(smk.wildcards.dataset, inp.tables, inp.stores, out.table, out.store, out.qc)
        elif rule == "age_train":
            train_age(json.loads(params.settings), inp.faces, inp.manifest, inp.store,
                      out.model, out.history, smk.threads)  # fmt: skip
        elif rule == "age_predict":
            model = getattr(inp, "model", None)
            predict_age(json.loads(params.settings), smk.wildcards.dataset, inp.faces,
                        inp.manifest, inp.store, model, out[0], smk.threads)  # fmt: skip
        elif rule in ("train_model", "grid_point"):
            files = {k: getattr(inp, k) for k in ("faces", "manifest", "store", "ages", "grid")
                     if hasattr(inp, k)}  # fmt: skip
            point = params.point if rule == "grid_point" else None
            train_expression(json.loads(params.settings), smk.wildcards.model,
                             int(params.seed), files, out.model, out.history,
                             smk.threads, point)  # fmt: skip
        elif rule == "grid":
            gather_grid(params.points, inp.histories, smk.wildcards.model, out[0])
        elif rule == "predict":
            files = [dict(zip(("faces", "manifest", "store", "ages"), group, strict=True))
                     for group in _chunks(list(inp.data), 4)]  # fmt: skip
            predict_model(json.loads(params.settings), smk.wildcards.model, list(inp.models),
                          files, out[0], smk.threads)  # fmt: skip
        elif rule == "evaluate":
            evaluate_models(json.loads(params.settings), list(inp.predictions), dict(out.items()))
        elif rule == "statistics":
            statistics(json.loads(params.settings), list(inp.predictions), inp.cross_group,
                       getattr(inp, "truth", None), dict(out.items()))  # fmt: skip
        elif rule == "age_metrics":
            age_metrics(json.loads(params.settings), inp.faces, inp.manifest, inp.store,
                        inp.model, out.metrics, out.test, smk.threads)  # fmt: skip
        elif rule == "histories":
            gather_histories(list(inp), out[0])
        elif rule == "figures":
            figure_dir, table_dir = Path(out.figures[0]).parent, Path(out.tables[0]).parent
            make_figures(dict(inp.items()), json.loads(params.settings), str(figure_dir),
                         str(table_dir))  # fmt: skip
        elif rule == "grid_all":
            gather_tables(list(inp), out[0])
        else:
            raise ValueError(f"no devfer stage for rule {rule!r}")


def _age_sets(rows: Any, store: Any, split: str) -> Any:
    import torch

    from devfer.data import FaceBatches, crops_tensor

    part = rows[(rows["split"] == split) & rows["age_true"].notna()]
    ages = torch.tensor(part["age_true"].to_numpy(dtype=float), dtype=torch.float32)
    return FaceBatches(crops_tensor(store, part["crop_index"].to_numpy()), ages), part


def train_age(
    settings: Mapping[str, Any],
    faces_table: str,
    manifest_path: str,
    store_path: str,
    out_model: str,
    out_history: str,
    threads: int,
) -> None:
    """Train the age estimator on the age-labelled dataset's train split (val for model choice)."""
    import torch

    from devfer.ages import AgeHead
    from devfer.data import load_faces
    from devfer.models import create_backbone
    from devfer.provenance import write_table
    from devfer.train import TrainSettings, fit

    torch.set_num_threads(_threads(threads))
    ages = settings["ages"]
    rows, store = load_faces(faces_table, manifest_path, store_path)
    train, _ = _age_sets(rows, store, "train")
    val, _ = _age_sets(rows, store, "val")
    log.info("age estimator %s (%s head): %d train, %d val images",
             ages["model"], ages["head"], len(train), len(val))  # fmt: skip
    head = AgeHead(ages["head"], ages["max_age"], ages["l1_weight"])
    torch.manual_seed(settings["seed"])
    model = create_backbone(ages["model"], head.n_outputs, ages["pretrained"])
    train_settings = TrainSettings(
        epochs=ages["epochs"], batch_size=ages["batch_size"], lr=ages["lr"],
        weight_decay=ages["weight_decay"], patience=ages["patience"],
        monitor="val_mae", mode="min", seed=settings["seed"], device=ages["device"],
        augment=dict(ages["augment"]),
    )  # fmt: skip
    checkpoint = Path(out_model).with_name("checkpoint.pt")
    history, best = fit(model, head.step, train, val, train_settings, checkpoint)
    torch.save(
        {
            "state_dict": best,
            "model": ages["model"],
            "head": ages["head"],
            "max_age": ages["max_age"],
            "val_mae": float(history["val_mae"].min()),
            "settings": dict(settings),
        },
        out_model,
    )
    write_table(history, out_history, "ages", settings)
    checkpoint.unlink(missing_ok=True)  # finished: the resumable state is no longer needed


def load_age_model(path: str) -> tuple[Any, Any, float]:
    import torch

    from devfer.ages import AgeHead
    from devfer.models import WeightsError, create_backbone

    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise WeightsError(
            f"age estimator checkpoint {path} does not exist; set ages.checkpoint to a "
            "model.pt written by devfer, or leave it null to train one."
        ) from None
    head = AgeHead(saved["head"], saved["max_age"])
    model = create_backbone(saved["model"], head.n_outputs, "none")
    model.load_state_dict(saved["state_dict"])
    return model, head, float(saved.get("val_mae", 3.0))


def predict_age(
    settings: Mapping[str, Any],
    dataset: str,
    faces_table: str,
    manifest_path: str,
    store_path: str,
    model_path: str | None,
    out: str,
    threads: int,
) -> None:
    """Age and age group for every aligned face of a dataset (estimated, labelled or known)."""
    import numpy as np
    import torch

    from devfer.ages import bucket, known_age_rows, parse_groups, predict_ages
    from devfer.data import crops_tensor, load_faces
    from devfer.provenance import write_table
    from devfer.train import pick_device

    torch.set_num_threads(_threads(threads))
    groups = parse_groups(settings["groups"])
    rows, store = load_faces(faces_table, manifest_path, store_path)
    source = settings["age_source"]
    if source == "estimated":
        model, head, val_mae = load_age_model(model_path)
        images = crops_tensor(store, rows["crop_index"].to_numpy())
        # A regression head has no spread of its own: use the validation error as one.
        sigma = float(val_mae * np.sqrt(np.pi / 2))
        device = pick_device(settings["device"])
        table = predict_ages(model, head, images, groups, 2 * settings["batch_size"], device, sigma)
    elif source == "labelled":
        table = known_age_rows(rows["age_true"].to_numpy(dtype=float), groups)
    else:
        table = known_age_rows(np.full(len(rows), float(source)), groups)
    table.insert(0, "image_id", rows["image_id"].to_numpy())
    table["age_group"] = bucket(table["age_pred"].to_numpy(), groups)
    table["age_source"] = source if isinstance(source, str) else "known"
    table["age_group"] = table["age_group"].astype("string")
    write_table(table, out, "ages", settings)
    log.info("%s: %s", dataset, table["age_group"].value_counts().to_dict())


def age_metrics(
    settings: Mapping[str, Any],
    faces_table: str,
    manifest_path: str,
    store_path: str,
    model_path: str,
    out: str,
    test_out: str,
    threads: int,
) -> None:
    """Estimator quality on the age-labelled dataset's held-out test split."""
    import torch

    from devfer.ages import bucket, estimator_metrics, parse_groups, predict_ages
    from devfer.data import load_faces
    from devfer.provenance import write_table
    from devfer.train import pick_device

    torch.set_num_threads(_threads(threads))
    groups = parse_groups(settings["groups"])
    rows, store = load_faces(faces_table, manifest_path, store_path)
    test, part = _age_sets(rows, store, "test")
    model, head, _ = load_age_model(model_path)
    pred = predict_ages(model, head, test.images, groups, 64, pick_device(settings["device"]))
    table = estimator_metrics(part["age_true"].to_numpy(float), pred["age_pred"].to_numpy(), groups)
    write_table(table, out, "ages", settings)
    per_image = pred.assign(
        image_id=part["image_id"].to_numpy(),
        age_true=part["age_true"].to_numpy(float),
        true_group=bucket(part["age_true"].to_numpy(float), groups),
        pred_group=bucket(pred["age_pred"].to_numpy(), groups),
    )
    cols = ["image_id", "age_true", "age_pred", "age_sd", "true_group", "pred_group"]
    write_table(per_image[cols], test_out, "ages", settings)
    overall = table[(table["true_group"] == "all")].set_index("metric")["value"]
    log.info("test MAE %.2f y, group accuracy %.1f %%", overall["mae"],
             100 * overall["group_accuracy"])  # fmt: skip


def expression_sets(
    rows: Any, store: Any, ages_path: str | None, age_groups: Sequence[str] | None
) -> dict[str, Any]:
    """Train/val/test FaceBatches of labelled faces, optionally only in some age groups."""
    import pandas as pd
    import torch

    from devfer import CLASSES
    from devfer.data import FaceBatches, crops_tensor

    rows = rows[rows["label"].notna()]
    if age_groups:
        ages = pd.read_parquet(ages_path, columns=["image_id", "age_group"])
        rows = rows.merge(ages, on="image_id", how="inner")
        rows = rows[rows["age_group"].isin(list(age_groups))]
    index = {c: i for i, c in enumerate(CLASSES)}
    out = {}
    for split in ("train", "val", "test"):
        part = rows[rows["split"] == split]
        y = torch.tensor(part["label"].map(index).to_numpy(dtype="int64"))
        out[split] = (FaceBatches(crops_tensor(store, part["crop_index"].to_numpy()), y), part)
    return out


def _train_expression_model(
    block: Mapping[str, Any],
    seed: int,
    device: str,
    sets: Mapping[str, Any],
    checkpoint: Path,
    stop_after: int | None = None,
) -> tuple[Any, Any, Any]:
    import torch

    from devfer import CLASSES
    from devfer.expression import CombinedDistanceLoss, ExpressionNet, class_balance
    from devfer.train import TrainSettings, fit

    train, _ = sets["train"]
    val, _ = sets["val"]
    if len(train) == 0 or len(val) == 0:
        raise RuntimeError(f"no training or validation images ({len(train)} / {len(val)})")
    torch.manual_seed(seed)
    model = ExpressionNet(
        block["architecture"], len(CLASSES), block["dropout"], block["pretrained"], block["frozen"]
    )
    weights, sample_weights = class_balance(train.targets, len(CLASSES))
    loss = CombinedDistanceLoss(
        len(CLASSES), model.embedding_dim, block["distance_lambda"], block["distance_margin"],
        block["label_smoothing"], weights if block["balance"] == "weights" else None, seed,
    )  # fmt: skip
    settings = TrainSettings(
        epochs=block["epochs"], batch_size=block["batch_size"], lr=block["lr"],
        weight_decay=block["weight_decay"], patience=block["patience"],
        monitor="val_accuracy", mode="max", seed=seed, device=device,
        augment=dict(block["augment"]), scheduler="cosine",
    )  # fmt: skip
    history, best = fit(
        model, loss.step, train, val, settings, checkpoint, extra_modules=[loss],
        sampler_weights=sample_weights if block["balance"] == "sampler" else None,
        stop_after=stop_after,
    )  # fmt: skip
    return model, history, best


def _grid_best(grid_path: str) -> dict[str, float]:
    import pandas as pd

    grid = pd.read_parquet(grid_path)
    best = grid.loc[grid["best"]].iloc[0]
    return {k: float(best[k]) for k in ("lr", "dropout", "weight_decay")}


def train_expression(
    settings: Mapping[str, Any],
    model_name: str,
    seed: int,
    files: Mapping[str, str],
    out_model: str,
    out_history: str,
    threads: int,
    grid_point: Mapping[str, float] | None = None,
) -> None:
    """Train one expression model (one seed, or one grid point) and save it with its history."""
    import torch

    from devfer import CLASSES
    from devfer.data import load_faces
    from devfer.provenance import write_table

    torch.set_num_threads(_threads(threads))
    block = dict(settings["model"])
    if grid_point is not None:
        block.update(grid_point)
        if settings.get("grid") and settings["grid"].get("epochs"):
            block["epochs"] = settings["grid"]["epochs"]
    elif files.get("grid"):
        block.update(_grid_best(files["grid"]))
        log.info("using the best grid point: %s", _grid_best(files["grid"]))
    rows, store = load_faces(files["faces"], files["manifest"], files["store"])
    sets = expression_sets(rows, store, files.get("ages"), block["age_groups"])
    log.info("%s model, seed %d: %s images (train/val/test)", model_name, seed,
             "/".join(str(len(sets[s][0])) for s in ("train", "val", "test")))  # fmt: skip
    checkpoint = Path(out_model).with_name("checkpoint.pt")
    _, history, best = _train_expression_model(block, seed, settings["device"], sets, checkpoint)
    history.insert(0, "model", model_name)
    history.insert(1, "seed", seed)
    torch.save(
        {
            "state_dict": best,
            "architecture": block["architecture"],
            "dropout": block["dropout"],
            "classes": list(CLASSES),
            "train_images": sets["train"][1]["image_id"].tolist(),
            "val_images": sets["val"][1]["image_id"].tolist(),
            "settings": {**dict(settings), "model": block, "seed": seed},
        },
        out_model,
    )
    write_table(history, out_history, "train", {**dict(settings), "seed": seed})
    checkpoint.unlink(missing_ok=True)


def gather_grid(
    points: Sequence[Mapping[str, float]], histories: Sequence[str], model_name: str, out: str
) -> None:
    """One row per grid point with its best validation accuracy; `best` marks the winner."""
    import pandas as pd

    from devfer.provenance import write_table

    rows = []
    for point, path in zip(points, histories, strict=True):
        h = pd.read_parquet(path)
        top = h.loc[h["val_accuracy"].idxmax()]
        rows.append(
            {
                "model": model_name,
                **point,
                "val_accuracy": float(top["val_accuracy"]),
                "val_loss": float(top["val_loss"]),
                "best_epoch": int(top["epoch"]),
            }
        )
    grid = pd.DataFrame(rows)
    # Ties go to the earlier point in the grid order, so the choice is deterministic.
    grid["best"] = False
    grid.loc[grid["val_accuracy"].idxmax(), "best"] = True
    write_table(grid, out, "train", {"model": model_name})


def evaluation_rows(files: Sequence[Mapping[str, str]]) -> Any:
    """Labelled, aligned faces of the evaluation datasets with their age and age group."""
    import pandas as pd

    from devfer.data import load_faces

    frames, stores = [], []
    for f in files:
        rows, store = load_faces(f["faces"], f["manifest"], f["store"])
        ages = pd.read_parquet(f["ages"], columns=["image_id", "age_pred", "age_group"])
        rows = rows[rows["label"].notna()].merge(ages, on="image_id", how="inner")
        frames.append(rows)
        stores.append(store)
    return frames, stores


def predict_model(
    settings: Mapping[str, Any],
    model_name: str,
    checkpoints: Sequence[str],
    files: Sequence[Mapping[str, str]],
    out: str,
    threads: int,
) -> None:
    """Class probabilities of every seed of a model on every evaluation face."""
    import pandas as pd
    import torch

    from devfer.data import crops_tensor
    from devfer.evaluate import class_probabilities, eligibility, prediction_frame
    from devfer.expression import ExpressionNet
    from devfer.provenance import write_table
    from devfer.train import pick_device

    torch.set_num_threads(_threads(threads))
    device = pick_device(settings["device"])
    frames, stores = evaluation_rows(files)
    tables = []
    for path in checkpoints:
        saved = torch.load(path, map_location="cpu", weights_only=False)
        model = ExpressionNet(saved["architecture"], len(saved["classes"]), saved["dropout"])
        model.load_state_dict(saved["state_dict"])
        used = saved["train_images"] + saved["val_images"]
        for rows, store in zip(frames, stores, strict=True):
            images = crops_tensor(store, rows["crop_index"].to_numpy())
            probs = class_probabilities(model, images, 128, str(device))
            table = prediction_frame(rows, probs, eligibility(rows, used))
            table.insert(0, "model", model_name)
            table.insert(1, "seed", int(saved["settings"]["seed"]))
            tables.append(table)
    predictions = pd.concat(tables, ignore_index=True)
    write_table(predictions, out, "evaluate", settings)
    log.info("%s: %d predictions, %d eligible", model_name, len(predictions),
             int(predictions["eligible"].sum()))  # fmt: skip


def evaluate_models(
    settings: Mapping[str, Any], prediction_files: Sequence[str], outputs: Mapping[str, str]
) -> None:
    """Cross-group metrics, confusion matrices and the evaluation set's expression mix."""
    import pandas as pd

    from devfer.evaluate import common_images, composition, confusion, cross_group, reference_mix
    from devfer.provenance import write_table

    ev = settings["evaluation"]
    predictions = pd.concat([pd.read_parquet(p) for p in prediction_files], ignore_index=True)
    scored = (
        common_images(predictions) if ev["common_images"] else predictions[predictions["eligible"]]
    )
    groups = settings["groups"]
    mix = reference_mix(scored, ev["reference_mix"])
    table, by_seed = cross_group(scored, groups, mix, ev["n_boot"], settings["seed"])
    table["reference_mix"] = ev["reference_mix"]
    write_table(table, outputs["cross_group"], "evaluate", settings)
    write_table(by_seed, outputs["by_seed"], "evaluate", settings)
    write_table(confusion(scored, groups), outputs["confusion"], "evaluate", settings)
    write_table(composition(scored, groups), outputs["composition"], "evaluate", settings)
    for model, part in table.groupby("model"):
        log.info("%s: %s", model, dict(zip(part["age_group"], part["accuracy"].round(3),
                                           strict=True)))  # fmt: skip


def statistics(
    settings: Mapping[str, Any],
    prediction_files: Sequence[str],
    cross_group_path: str,
    truth_path: str | None,
    outputs: Mapping[str, str],
) -> None:
    """Trend fits, fitted curves, transition ages and the boundary sensitivity analysis."""
    import pandas as pd

    from devfer.evaluate import common_images, cross_group, reference_mix
    from devfer.provenance import write_table
    from devfer.trends import analyse, away_from_boundaries

    ev = settings["evaluation"]
    predictions = pd.concat([pd.read_parquet(p) for p in prediction_files], ignore_index=True)
    scored = (
        common_images(predictions) if ev["common_images"] else predictions[predictions["eligible"]]
    )
    cross = pd.read_parquet(cross_group_path)
    truth = None
    if truth_path:
        curve = pd.read_parquet(truth_path)
        # The age at which the display is half adult-like (w's midpoint only if the infant
        # configuration shares nothing with the adult one); older truth tables lack it.
        column = "transition_age" if "transition_age" in curve else "midpoint"
        truth = float(curve[column].iloc[0])
    # The group-level sensitivity needs group accuracies without the boundary images.
    near = away_from_boundaries(scored, settings["boundaries"], ev["boundary_margin"])
    mix = reference_mix(near, ev["reference_mix"])
    cross_near, _ = cross_group(near, settings["groups"], mix, 0, settings["seed"])
    results = analyse(
        scored, cross, settings["boundaries"], truth, ev["boundary_margin"],
        ev["transition_boot"], settings["seed"], ev["spline_df"], cross_near,
    )  # fmt: skip
    for name, table in results.items():
        write_table(table, outputs[name], "statistics", settings)
    for _, row in results["transition"].iterrows():
        log.info("%s: transition %.1f y [%.1f, %.1f] (truth %s)", row["model"], row["estimate"],
                 row["ci_low"], row["ci_high"], row["truth"])  # fmt: skip


def gather_tables(paths: Sequence[str], out: str) -> None:
    import pandas as pd

    from devfer.provenance import write_table

    frames = [pd.read_parquet(p) for p in paths]
    write_table(pd.concat(frames, ignore_index=True), out, "train", {"files": list(paths)})


def gather_histories(paths: Sequence[str], out: str) -> None:
    """Every model's (and the age estimator's) per-epoch history in one tidy table."""
    import pandas as pd

    from devfer.provenance import write_table

    frames = []
    for path in paths:
        h = pd.read_parquet(path)
        if "model" not in h:  # the age estimator's history
            h.insert(0, "model", "age_estimator")
            h.insert(1, "seed", -1)
        frames.append(h)
    write_table(pd.concat(frames, ignore_index=True), out, "train", {"files": list(paths)})


def make_figures(
    inputs: Mapping[str, Any], settings: Mapping[str, Any], figure_dir: str, table_dir: str
) -> None:
    """Publication figures and tables from the tables the stages wrote (nothing refitted)."""
    import pandas as pd

    from devfer.figures import render_all
    from devfer.tables import write_tables

    tables: dict[str, Any] = {}
    for key, value in inputs.items():
        if key == "ages":
            paths = [value] if isinstance(value, str) else list(value)
            frames = []
            for path in paths:
                df = pd.read_parquet(path, columns=["image_id", "age_pred", "age_group"])
                frames.append(df.assign(dataset=Path(path).stem))
            tables["ages"] = pd.concat(frames, ignore_index=True)
        else:
            tables[key] = pd.read_parquet(value)
    # An empty table (no curve could be fitted, say) leaves its layer out, not the figure.
    tables = {k: (v if len(v) else None) for k, v in tables.items()}
    files = render_all(tables, settings["groups"], figure_dir)
    files += write_tables(tables["cross_group"], tables["trend_fits"], table_dir)
    log.info("wrote %d figure and table files", len(files))
