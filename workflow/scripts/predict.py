"""Rule predict: the study's bundles on the pictures and videos of config `predict.inputs`."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.predict.run import predict_with_bundles
from devfer.runlog import logged

with logged(snakemake.log[0]):
    predict_with_bundles(
        inputs=list(snakemake.params.settings["inputs"]),
        model=snakemake.input.model,
        age_model=snakemake.input.get("age_model"),
        settings=snakemake.params.settings,
        annotate=snakemake.params.annotate,
        out=snakemake.output[0],
        threads=snakemake.threads,
    )
