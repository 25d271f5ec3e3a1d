"""Rule evaluate: metrics per model x age group, confusion matrices, expression mix."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.config.typed import from_params
from devfer.evaluate.settings import EvaluationSettings
from devfer.evaluate.stage import evaluate_models
from devfer.runlog import logged

with logged(snakemake.log[0]):
    evaluate_models(
        settings=from_params(EvaluationSettings, snakemake.params.settings),
        predictions=list(snakemake.input.predictions),
        cross_group_out=snakemake.output.cross_group,
        by_seed_out=snakemake.output.by_seed,
        confusion_out=snakemake.output.confusion,
        composition_out=snakemake.output.composition,
    )
