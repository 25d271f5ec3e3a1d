"""Rule train_grid: one row per grid point of a model; the best is marked."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.config.typed import from_params
from devfer.runlog import logged
from devfer.train.settings import GridPoint
from devfer.train.stage import gather_grid

with logged(snakemake.log[0]):
    gather_grid(
        name=snakemake.wildcards.model,
        points=[from_params(GridPoint, p) for p in snakemake.params.points],
        histories=list(snakemake.input.histories),
        out=snakemake.output[0],
    )
