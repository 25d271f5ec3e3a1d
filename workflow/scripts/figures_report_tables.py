"""Rule figures_report_tables: the report's tables as HTML (it cannot show Parquet)."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from devfer.figures.tables import write_html_tables
from devfer.runlog import logged

with logged(snakemake.log[0]):
    write_html_tables(dict(snakemake.input.items()), Path(snakemake.output[0]).parent)
