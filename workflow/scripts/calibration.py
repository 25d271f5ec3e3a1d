"""Rule calibration: coverage, false-positive rate and power over every scenario."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.calibration.stage import summarise_studies
from devfer.runlog import logged

with logged(snakemake.log[0]):
    summarise_studies(
        studies=list(snakemake.input),
        out=snakemake.output.summary,
        figure=str(Path(snakemake.output.figure).with_suffix("")),
        table_md=snakemake.output.table_md,
        table_tex=snakemake.output.table_tex,
    )
