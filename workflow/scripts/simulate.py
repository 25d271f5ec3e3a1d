"""Rule simulate: render one simulated dataset in its real format, with its answer key."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.config.typed import from_params
from devfer.runlog import logged
from devfer.simulate.settings import SimulatedDataset, SimulationSettings
from devfer.simulate.stage import simulate

with logged(snakemake.log[0]):
    simulate(
        name=snakemake.wildcards.sim,
        dataset=from_params(SimulatedDataset, snakemake.params.dataset),
        settings=from_params(SimulationSettings, snakemake.params.simulation),
        seed=snakemake.params.seed,
        out_dir=snakemake.output.images,
        answer_key=snakemake.output.answer_key,
    )
