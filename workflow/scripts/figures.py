"""Rule figures: publication figures and tables from the stages' tables."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.ages.settings import GroupSpec
from devfer.config.typed import from_params
from devfer.figures.stage import make_figures
from devfer.runlog import logged

tables = {k: v for k, v in snakemake.input.items() if k != "ages"}
with logged(snakemake.log[0]):
    make_figures(
        tables=tables,
        ages=list(snakemake.input.ages),
        groups=[from_params(GroupSpec, g) for g in snakemake.params.groups],
        figure_dir=str(Path(snakemake.output.figures[0]).parent),
        table_dir=str(Path(snakemake.output.tables[0]).parent),
    )
