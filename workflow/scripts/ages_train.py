"""Rule ages_train: train the age estimator on the age-labelled dataset."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.ages.settings import AgeTrainSettings
from devfer.ages.stage import train_estimator
from devfer.config.typed import from_params
from devfer.layout import DatasetFiles
from devfer.runlog import logged

with logged(snakemake.log[0]):
    train_estimator(
        settings=from_params(AgeTrainSettings, snakemake.params.settings),
        files=DatasetFiles.from_input(snakemake.input),
        out_model=snakemake.output.model,
        out_history=snakemake.output.history,
        threads=snakemake.resources.get("torch_threads", snakemake.threads),
    )
