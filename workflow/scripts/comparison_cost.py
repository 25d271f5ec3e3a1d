"""Rule comparison_cost: parameters, FLOPs, latency and throughput of every backbone."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.comparison.cost import measure_costs
from devfer.comparison.settings import CostSettings
from devfer.config.typed import from_params
from devfer.runlog import logged

with logged(snakemake.log[0]):
    measure_costs(
        backbones=list(snakemake.params.backbones),
        settings=from_params(CostSettings, snakemake.params.settings),
        out=snakemake.output[0],
        threads=snakemake.resources.get("torch_threads", snakemake.threads),
    )
