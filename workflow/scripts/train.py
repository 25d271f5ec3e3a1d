"""Rule train: one expression model, one seed."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.config.typed import from_params
from devfer.layout import DatasetFiles
from devfer.runlog import logged
from devfer.train.settings import TrainModelSettings
from devfer.train.stage import train_model

with logged(snakemake.log[0]):
    train_model(
        settings=from_params(TrainModelSettings, snakemake.params.settings),
        seed=int(snakemake.wildcards.seed),
        files=DatasetFiles.from_input(snakemake.input),
        ages=snakemake.input.get("ages"),
        grid=snakemake.input.get("grid"),
        out_model=snakemake.output.model,
        out_history=snakemake.output.history,
        threads=snakemake.resources.get("torch_threads", snakemake.threads),
    )
