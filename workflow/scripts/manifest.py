"""Rule manifest: a dataset's adapter -> manifest and QC table."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.config.typed import from_params
from devfer.manifest.settings import DatasetSettings
from devfer.manifest.stage import write_manifest
from devfer.runlog import logged

with logged(snakemake.log[0]):
    write_manifest(
        dataset=from_params(DatasetSettings, snakemake.params.dataset),
        seed=snakemake.params.seed,
        out=snakemake.output.manifest,
        qc_out=snakemake.output.qc,
        image_cache=snakemake.params.image_cache,
    )
