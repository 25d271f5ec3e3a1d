"""Rule train_grid_point: one expression model at one point of the grid."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.config.typed import from_params
from devfer.layout import DatasetFiles
from devfer.runlog import logged
from devfer.train.settings import GridPoint, TrainModelSettings
from devfer.train.stage import train_model

with logged(snakemake.log[0]):
    train_model(
        settings=from_params(TrainModelSettings, snakemake.params.settings),
        grid_point=from_params(GridPoint, snakemake.params.point),
        seed=snakemake.params.seed,
        files=DatasetFiles.from_input(snakemake.input),
        ages=snakemake.input.get("ages"),
        out_model=snakemake.output.model,
        out_history=snakemake.output.history,
        threads=snakemake.resources.get("torch_threads", snakemake.threads),
    )
