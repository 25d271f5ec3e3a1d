"""Rule train_grid_all: every model's grid in one table (for the grid figure)."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.runlog import logged
from devfer.train.stage import gather_grids

with logged(snakemake.log[0]):
    gather_grids(grids=list(snakemake.input), out=snakemake.output[0])
