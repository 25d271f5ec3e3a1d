"""Rule simulate_control: the evaluation faces drawn again with one development off."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.config.typed import from_params
from devfer.layout import DatasetFiles, training_data
from devfer.runlog import logged
from devfer.simulate.settings import SimulationSettings
from devfer.simulate.stage import simulate_control

with logged(snakemake.log[0]):
    simulate_control(
        name=snakemake.wildcards.sim,
        control=snakemake.wildcards.control,
        settings=from_params(SimulationSettings, snakemake.params.simulation),
        seed=snakemake.params.seed,
        answer_key=snakemake.input.answer_key,
        faces=DatasetFiles.from_input(snakemake.input),
        training=training_data(snakemake.input, snakemake.params.training),
        out_dir=snakemake.output.images,
        out_manifest=snakemake.output.manifest,
    )
