"""Rule evaluate_affect: valence and arousal metrics per model x age group."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.config.typed import from_params
from devfer.evaluate.settings import EvaluationSettings
from devfer.evaluate.stage import evaluate_affect
from devfer.runlog import logged

with logged(snakemake.log[0]):
    evaluate_affect(
        settings=from_params(EvaluationSettings, snakemake.params.settings),
        predictions=list(snakemake.input.predictions),
        answer_keys=list(snakemake.input.answer_keys),
        out=snakemake.output[0],
    )
