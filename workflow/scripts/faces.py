"""Rule faces: gather a dataset's aligned shards into one table and crop store."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.faces.stage import gather_shards
from devfer.runlog import logged

with logged(snakemake.log[0]):
    gather_shards(
        dataset=snakemake.wildcards.dataset,
        tables=list(snakemake.input.tables),
        stores=list(snakemake.input.stores),
        out_table=snakemake.output.table,
        out_store=snakemake.output.store,
        qc_out=snakemake.output.qc,
    )
