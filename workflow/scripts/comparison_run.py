"""Rule comparison_run: one backbone, one seed (and fold), trained and scored."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.ages.settings import GroupSpec
from devfer.comparison.run import train_run
from devfer.comparison.settings import ComparisonSettings
from devfer.config.typed import from_params
from devfer.runlog import logged

with logged(snakemake.log[0]):
    train_run(
        settings=from_params(ComparisonSettings, snakemake.params.settings),
        groups=[from_params(GroupSpec, g) for g in snakemake.params.groups],
        backbone=snakemake.wildcards.backbone,
        replicate=snakemake.wildcards.replicate,
        manifest=snakemake.input.manifest,
        answer_key=snakemake.input.get("answer_key"),
        out_predictions=snakemake.output.predictions,
        out_history=snakemake.output.history,
        out_model=snakemake.output.model,
        threads=snakemake.resources.get("torch_threads", snakemake.threads),
    )
