"""Rule stats: linear vs nonlinear trajectories, transition ages, sensitivity."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.config.typed import from_params
from devfer.evaluate.settings import EvaluationSettings
from devfer.runlog import logged
from devfer.stats.stage import run_statistics

with logged(snakemake.log[0]):
    run_statistics(
        settings=from_params(EvaluationSettings, snakemake.params.settings),
        predictions=list(snakemake.input.predictions),
        cross_group_table=snakemake.input.cross_group,
        truth=snakemake.input.get("truth"),
        trend_fits_out=snakemake.output.trend_fits,
        trend_curves_out=snakemake.output.trend_curves,
        transition_out=snakemake.output.transition,
        sensitivity_out=snakemake.output.sensitivity,
        decomposition_out=snakemake.output.decomposition,
        decomposition_change_out=snakemake.output.decomposition_change,
        controls={
            name.removeprefix("control__"): list(files)
            for name, files in snakemake.input.items()
            if name.startswith("control__")
        },
        threads=snakemake.threads,
    )
