"""Rule evaluate_predict: every seed of a model on every evaluation face."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.config.typed import from_params
from devfer.evaluate.settings import EvaluationSettings
from devfer.evaluate.stage import predict_model
from devfer.layout import evaluation_data
from devfer.runlog import logged

with logged(snakemake.log[0]):
    predict_model(
        settings=from_params(EvaluationSettings, snakemake.params.settings),
        name=snakemake.wildcards.model,
        checkpoints=list(snakemake.input.models),
        data=evaluation_data(snakemake.input, snakemake.params.datasets),
        out=snakemake.output[0],
        threads=snakemake.resources.get("torch_threads", snakemake.threads),
    )
