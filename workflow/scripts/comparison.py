"""Rule comparison: every run scored, the summary with cost, the audit, figures, tables."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.comparison.settings import ScoreSettings
from devfer.comparison.stage import comparison_reports, gather_comparison
from devfer.config.typed import from_params
from devfer.runlog import logged

TABLES = ("metrics", "summary", "per_class", "confusion", "fairness", "fairness_gaps",
          "valence_arousal")  # fmt: skip

with logged(snakemake.log[0]):
    tables = gather_comparison(
        settings=from_params(ScoreSettings, snakemake.params.settings),
        predictions=list(snakemake.input.predictions),
        cost=snakemake.input.cost,
        out={name: snakemake.output[name] for name in TABLES},
    )
    comparison_reports(
        tables,
        figures=str(Path(snakemake.output.figure).with_suffix("")).removesuffix("_cost"),
        table_md=snakemake.output.table_md,
        table_tex=snakemake.output.table_tex,
    )
