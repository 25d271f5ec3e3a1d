"""Rule ages_predict: an age and an age group for every aligned face of a dataset."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.ages.settings import AgePredictSettings
from devfer.ages.stage import predict_dataset
from devfer.config.typed import from_params
from devfer.layout import DatasetFiles
from devfer.runlog import logged

with logged(snakemake.log[0]):
    predict_dataset(
        settings=from_params(AgePredictSettings, snakemake.params.settings),
        dataset=snakemake.wildcards.dataset,
        files=DatasetFiles.from_input(snakemake.input),
        model=snakemake.input.get("model"),
        answer_key=snakemake.input.get("answer_key"),
        out=snakemake.output[0],
        threads=snakemake.resources.get("torch_threads", snakemake.threads),
    )
