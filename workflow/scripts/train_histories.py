"""Rule train_histories: every model's per-epoch history in one table."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.runlog import logged
from devfer.train.stage import gather_histories

with logged(snakemake.log[0]):
    gather_histories(histories=list(snakemake.input), out=snakemake.output[0])
