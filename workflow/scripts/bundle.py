"""Rules bundle and bundle_age: a trained model's weights and card, for use on new faces."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.predict.bundle import export_age, export_expression
from devfer.runlog import logged

with logged(snakemake.log[0]):
    export = export_expression if snakemake.params.kind == "expression" else export_age
    faces = snakemake.params.faces
    export(
        snakemake.input.checkpoint,
        snakemake.output[0],
        face_size=faces["size"],
        margin=faces["margin"],
        min_prob=faces["min_prob"],
        groups=list(snakemake.params.groups),
    )
