"""Rule faces_control: detect and align the control renderings, as their originals were."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.config.typed import from_params
from devfer.faces.settings import FacesSettings
from devfer.faces.stage import align_shard
from devfer.runlog import logged

with logged(snakemake.log[0]):
    align_shard(
        settings=from_params(FacesSettings, snakemake.params.settings),
        manifest=snakemake.input.manifest,
        shard=0,
        shards=1,
        threads=snakemake.resources.get("torch_threads", snakemake.threads),
        out_table=snakemake.output.table,
        out_store=snakemake.output.store,
    )
