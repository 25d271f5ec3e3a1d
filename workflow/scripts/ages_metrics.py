"""Rule ages_metrics: the age estimator's MAE and group accuracy on held-out faces."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.ages.settings import AgePredictSettings
from devfer.ages.stage import score_estimator
from devfer.config.typed import from_params
from devfer.layout import DatasetFiles
from devfer.runlog import logged

with logged(snakemake.log[0]):
    score_estimator(
        settings=from_params(AgePredictSettings, snakemake.params.settings),
        files=DatasetFiles.from_input(snakemake.input),
        model=snakemake.input.model,
        out=snakemake.output.metrics,
        test_out=snakemake.output.test,
        threads=snakemake.resources.get("torch_threads", snakemake.threads),
    )
