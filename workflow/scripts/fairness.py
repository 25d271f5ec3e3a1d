"""Rule fairness: the study's expression models audited by age group, sex and skin tone."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.comparison.audit import audit_models
from devfer.comparison.settings import ScoreSettings
from devfer.config.typed import from_params
from devfer.runlog import logged

with logged(snakemake.log[0]):
    audit_models(
        settings=from_params(ScoreSettings, snakemake.params.settings),
        predictions=list(snakemake.input.predictions),
        answer_keys=list(snakemake.input.answer_keys),
        out=snakemake.output.per_group,
        out_gaps=snakemake.output.gaps,
    )
