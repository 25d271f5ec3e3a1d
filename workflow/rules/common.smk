import os
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# devfer from this checkout, whether or not it is pip-installed in the running Python.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from devfer import config as devfer_config
from devfer.config import settings as S
from devfer.config.typed import to_params
from devfer.layout import (
    control_files,
    control_inputs,
    control_predictions,
    dataset_inputs,
    evaluation_inputs,
    training_inputs,
)

# Validate before any job runs: a typo or a missing dataset folder stops here, with the
# key path and the fix.
try:
    config = devfer_config.validate_config(config)
    devfer_config.check_roots(config)
except devfer_config.ConfigError as exc:
    raise WorkflowError(str(exc)) from None

DATASETS = sorted(config["datasets"])
# What the study prepares (manifest, faces, ages): not a dataset only the comparison reads.
STUDY_DATASETS = S.study_datasets(config)
SIMULATED = sorted(config.get("simulation", {}).get("datasets", {}))
N_SHARDS = config["faces"]["shards"]
AGE_DATASET = config["ages"].get("dataset")
# A supplied estimator checkpoint replaces training (ages_train then never runs).
AGE_MODEL = config["ages"]["checkpoint"] or "results/models/age_estimator/model.pt"
MODELS = S.models(config)
SEEDS = config.get("models", {}).get("seeds", [])
GRID = S.grid(config).points if MODELS else []
GRID_IN_STUDY = bool(MODELS) and config["models"]["grid"]["in_study"]
EVALUATION_DATASETS = S.evaluation_datasets(config) if MODELS else []
# Paired control renderings of the simulated evaluation faces (face shape vs expression).
CONTROLS = list(config.get("simulation", {}).get("controls", [])) if MODELS else []
# The models with a valence-arousal head (issue 15): their own evaluation, figures and table.
AFFECT_MODELS = [m for m in MODELS if config["models"][m]["valence_arousal"]["enabled"]]
CONTROLLED = [d for d in EVALUATION_DATASETS if d in SIMULATED] if CONTROLS else []
# Each model's training data, as data: [dataset, age groups]; never how it is trained.
TRAINING = S.training_datasets(config)
# The model zoo (`snakemake comparison`): its dataset, backbones and runs.
COMPARED = config["comparison"]["dataset"]
BACKBONES = config["comparison"]["backbones"]
REPLICATES = S.comparison_replicates(config) if COMPARED else []


wildcard_constraints:
    dataset="|".join(DATASETS),
    model="|".join(MODELS) if MODELS else "^$",
    seed=r"\d+",
    point=r"\d+",
    sim="|".join(SIMULATED) if SIMULATED else "^$",
    control="expression_off|shape_off",
    scenario="flat|linear|transition|rise_fall",
    shard=r"\d+",
    backbone="|".join(re.escape(b) for b in BACKBONES),
    replicate=r"seed\d+(-fold\d+)?",


# What a job asks a cluster scheduler for, by rule class (config `resources`). Face alignment
# takes faces.threads everywhere; the other classes' threads count on a cluster only.
RESOURCES = {k: v for k, v in config["resources"].items() if isinstance(v, dict)}
CLUSTER_THREADS = {name: block.get("threads") for name, block in RESOURCES.items()}
CLUSTER_THREADS["faces"] = config["faces"]["threads"]
# Training and inference jobs a local run keeps side by side.
LOCAL_HEAVY_JOBS = config["resources"]["local_heavy_jobs"]
# The device each class's stage runs on: a GPU is asked for where it is cuda.
DEVICES = {
    "faces": config["faces"]["device"],
    "ages": config["ages"]["device"],
    "train": config.get("models", {}).get("device", "auto"),
    "evaluate": config.get("models", {}).get("device", "auto"),
    "comparison": config["comparison"]["device"],
}
HEAVY_CLASSES = {"faces", "ages", "train", "evaluate", "comparison"}


def on_cluster():
    """True when jobs are submitted to a cluster, and inside those jobs."""
    return workflow.non_local_exec or workflow.remote_exec


# The age estimator's training takes every core, alone (`sole`): it is on the study's
# critical path (the adult model waits for the ages), and one thread made it 2x slower
# (2026-12-03). Its predictions (seconds each) share the cores like other heavy jobs: alone,
# they waited for every running job to end, and the evaluations behind them with them.
def _local_share(sole):
    return 1 if sole else LOCAL_HEAVY_JOBS


def heavy_threads(job_class, sole=False):
    """Training and inference threads. Locally --cores is shared among
    resources.local_heavy_jobs such jobs (a `sole` job takes all of them): on 2 cores two
    one-thread trainings side by side train more images a second than one two-thread
    training after the other. On a cluster it takes resources.<class>.threads: sbatch
    refuses a job asking for more CPUs than a node has, whatever --cores says."""

    def threads(wildcards):
        if on_cluster():
            return CLUSTER_THREADS[job_class]
        try:
            return max(1, workflow.cores // _local_share(sole))
        except WorkflowError:  # no --cores: a report or a dry listing, nothing runs
            return 1

    return threads


def torch_threads(sole=False):
    """The threads torch uses. Locally never more than the machine's share per heavy job:
    `--cores 8` on a 2-core machine would otherwise run two 4-thread jobs on 2 cores."""

    def threads_of(wildcards, threads):
        if on_cluster():
            return threads
        return max(1, min(threads, (os.cpu_count() or 1) // _local_share(sole)))

    return threads_of


def light_threads(job_class):
    """One thread locally; resources.<class>.threads on a cluster."""
    return lambda wildcards: CLUSTER_THREADS[job_class] if on_cluster() else 1


def job_resources(job_class, sole=False):
    """Memory (MB), wall time (minutes) and, where the class's stage runs on CUDA, GPUs:
    what a job asks a cluster for. Resources are not params, so changing them re-runs
    nothing."""
    block = RESOURCES[job_class]
    needs = {"mem_mb": block["mem_mb"], "runtime": block["runtime"]}
    if job_class in HEAVY_CLASSES:
        needs["torch_threads"] = torch_threads(sole)
    if DEVICES.get(job_class) == "cuda":
        needs["gpu"] = block["gpu"]
    return needs


def manifest_sources(wildcards):
    """A simulated dataset's files come from the simulate rule; real data is on disk."""
    if wildcards.dataset in SIMULATED:
        return [f"results/simulation/{wildcards.dataset}"]
    return []


def shard_files(ext):
    def inputs(wildcards):
        return [
            f"results/faces/shards/{wildcards.dataset}/{k:03d}.{ext}"
            for k in range(N_SHARDS)
        ]

    return inputs


def ages_predict_inputs(wildcards):
    files = dataset_inputs(wildcards.dataset)
    source = S.age_predict(config, wildcards.dataset).age_source
    if source == "estimated":
        files["model"] = AGE_MODEL
    elif source == "truth":
        files["answer_key"] = f"results/simulation/{wildcards.dataset}.parquet"
    return files


def model_inputs(wildcards, with_grid=True):
    """A model's training data; its dataset's ages when it trains on some age groups only."""
    block = config["models"][wildcards.model]
    files = dataset_inputs(block["dataset"])
    if block["age_groups"]:
        files["ages"] = f"results/ages/{block['dataset']}.parquet"
    if with_grid and block["use_grid_best"]:
        files["grid"] = f"results/models/{wildcards.model}/grid.parquet"
    return files


def evaluation_files(wildcards):
    """Every seed of the model, and each evaluation dataset's faces, crops and ages by name."""
    models = expand(
        "results/models/{model}/seed{seed}/model.pt", model=wildcards.model, seed=SEEDS
    )
    return {"models": models, **evaluation_inputs(EVALUATION_DATASETS)}


def control_design_inputs(wildcards):
    """The faces to render under a control: the dataset's aligned faces, and what each model
    trains on (so only faces no model saw are drawn again)."""
    return {
        "answer_key": f"results/simulation/{wildcards.sim}.parquet",
        **dataset_inputs(wildcards.sim),
        **training_inputs(TRAINING),
    }


def control_evaluation_files(wildcards):
    """evaluation_files for one control: the model's seeds and the control faces."""
    models = expand(
        "results/models/{model}/seed{seed}/model.pt", model=wildcards.model, seed=SEEDS
    )
    return {"models": models, **control_inputs(CONTROLLED, wildcards.control)}


def calibration_design(wildcards):
    """The study's own predictions when they exist (its subjects, ages and images are then
    the calibration's design); none otherwise, so calibration never runs the study."""
    files = [f"results/predictions/{m}.parquet" for m in MODELS]
    return files if files and all(Path(f).exists() for f in files) else []


def comparison_inputs(wildcards):
    """The comparison dataset's manifest, and a simulation's answer key (subjects, sex, skin
    tone and age for the folds and the audit)."""
    if not COMPARED:
        try:
            S.comparison(config)  # the message: which key to set, and to what
        except devfer_config.ConfigError as exc:
            raise WorkflowError(str(exc)) from None
    files = {"manifest": f"results/manifests/{COMPARED}.parquet"}
    if COMPARED in SIMULATED:
        files["answer_key"] = f"results/simulation/{COMPARED}.parquet"
    return files


def comparison_files(name):
    """One file of every comparison run (backbone x seed x fold)."""

    def files(wildcards):
        comparison_inputs(wildcards)  # the clear error when no dataset is set
        return expand(
            "results/comparison/runs/{backbone}/{replicate}/{name}",
            backbone=BACKBONES,
            replicate=REPLICATES,
            name=name,
        )

    return files


def stats_inputs(wildcards):
    files = {
        "predictions": expand("results/predictions/{model}.parquet", model=MODELS),
        "cross_group": "results/metrics/cross_group.parquet",
    }
    if SIMULATED:
        files["truth"] = "results/simulation/truth.parquet"
    for control in CONTROLS:
        files[f"control__{control}"] = [control_predictions(m, control) for m in MODELS]
    return files


FIGURES = [
    "accuracy_by_group",
    "confusion_matrices",
    "age_distributions",
    "expression_mix",
    "training_curves",
    "transition",
]
if AGE_DATASET:
    FIGURES += ["estimator_scatter", "estimator_mae"]
if GRID_IN_STUDY:
    FIGURES.append("grid_heatmap")
TABLES = ["cross_group", "trend_fits", "transition"]
if CONTROLS:
    FIGURES.append("decomposition")
    TABLES.append("decomposition")


def report_tables():
    """Tables shown in `snakemake --report` (as HTML): name -> (Parquet, caption, category).

    Names and categories must not repeat each other or the report's own panels (Workflow,
    Statistics): docutils rejects a duplicate link target.
    """
    tables = {}
    if SIMULATED:
        tables["truth"] = ("results/simulation/truth.parquet", "truth", "Simulation")
    for name in STUDY_DATASETS:
        qc = "Quality control"
        tables[f"manifest_qc_{name}"] = (
            f"results/qc/manifest/{name}.parquet",
            "manifest_qc",
            qc,
        )
        tables[f"faces_qc_{name}"] = (
            f"results/qc/faces/{name}.parquet",
            "faces_qc",
            qc,
        )
    if AGE_DATASET:
        metrics = "results/ages/estimator_metrics.parquet"
        tables["estimator_metrics"] = (metrics, "age_metrics", "Age estimation")
    if MODELS:
        tables["cross_group"] = (
            "results/metrics/cross_group.parquet",
            "cross_group",
            "Evaluation",
        )
        names = ["trend_fits", "transition", "sensitivity"]
        names += ["decomposition", "decomposition_change"] if CONTROLS else []
        for name in names:
            tables[name] = (
                f"results/stats/{name}.parquet",
                name,
                "Trends and transition",
            )
    if GRID_IN_STUDY:
        tables["grid"] = ("results/models/grid.parquet", "grid", "Training")
    if AFFECT_MODELS:
        tables["valence_arousal"] = (
            "results/metrics/valence_arousal.parquet",
            "valence_arousal",
            "Valence and arousal",
        )
    return tables


def history_files():
    files = expand(
        "results/models/{model}/seed{seed}/history.parquet", model=MODELS, seed=SEEDS
    )
    if AGE_DATASET and not config["ages"]["checkpoint"]:
        files.append("results/models/age_estimator/history.parquet")
    return files


def figure_inputs(wildcards):
    files = {
        "cross_group": "results/metrics/cross_group.parquet",
        "confusion": "results/metrics/confusion.parquet",
        "composition": "results/metrics/composition.parquet",
        "trend_fits": "results/stats/trend_fits.parquet",
        "trend_curves": "results/stats/trend_curves.parquet",
        "transition": "results/stats/transition.parquet",
        "histories": "results/models/histories.parquet",
        **(
            {
                "decomposition": "results/stats/decomposition.parquet",
                "decomposition_change": "results/stats/decomposition_change.parquet",
            }
            if CONTROLS
            else {}
        ),
        "ages": expand("results/ages/{dataset}.parquet", dataset=EVALUATION_DATASETS),
    }
    if AGE_DATASET:
        files["estimator_test"] = "results/ages/estimator_test.parquet"
        files["estimator_metrics"] = "results/ages/estimator_metrics.parquet"
    if GRID_IN_STUDY:
        files["grid"] = "results/models/grid.parquet"
    return files


# What a bundle's card says about the crops its model takes: the study's face settings.
BUNDLE_FACES = {k: config["faces"][k] for k in ("size", "margin", "min_prob")}


# The age estimator's bundle: the study has an estimator when it trains or is given one.
AGE_BUNDLE = (
    "results/models/age_estimator/bundle"
    if AGE_DATASET or config["ages"]["checkpoint"]
    else None
)


def bundle_dirs():
    """Every trained model's bundle, and the age estimator's where the study has one."""
    dirs = expand("results/models/{model}/bundle", model=MODELS) if SEEDS else []
    if AGE_BUNDLE:
        dirs.append(AGE_BUNDLE)
    return dirs


def predict_bundles(wildcards):
    """The bundles `snakemake predict` runs: the configured model's, and the age estimator's."""
    model = config["predict"]["model"]
    if model not in MODELS:
        raise WorkflowError(
            f"predict.model is '{model}', which is not a model of this study "
            f"({', '.join(MODELS) or 'none'})"
        )
    files = {"model": f"results/models/{model}/bundle"}
    if AGE_BUNDLE:
        files["age_model"] = AGE_BUNDLE
    return files


def all_outputs():
    outs = []
    if SIMULATED:
        outs.append("results/simulation/truth.parquet")
    outs += expand("results/manifests/{dataset}.parquet", dataset=STUDY_DATASETS)
    outs += expand("results/faces/{dataset}.parquet", dataset=STUDY_DATASETS)
    outs += expand("results/ages/{dataset}.parquet", dataset=STUDY_DATASETS)
    if AGE_DATASET:
        outs.append("results/ages/estimator_metrics.parquet")
    outs += expand(
        "results/models/{model}/seed{seed}/model.pt", model=MODELS, seed=SEEDS
    )
    if MODELS:
        outs += expand("results/figures/{name}.pdf", name=FIGURES)
        outs += expand("results/tables/{name}.md", name=TABLES)
    if AFFECT_MODELS:
        outs.append("results/tables/valence_arousal.md")
    outs += bundle_dirs()
    outs += expand("results/report/{name}.html", name=report_tables())
    return outs
