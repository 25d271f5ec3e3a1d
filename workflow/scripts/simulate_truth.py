"""Rule simulate_truth: the true w(age) curve and transition age of the simulation."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.runlog import logged
from devfer.simulate.stage import write_truth

with logged(snakemake.log[0]):
    write_truth(**snakemake.params.truth, out=snakemake.output[0])
