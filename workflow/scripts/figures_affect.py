"""Rule figures_affect: the valence-arousal figures and table."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.ages.settings import GroupSpec
from devfer.config.typed import from_params
from devfer.figures.stage import affect_figures
from devfer.runlog import logged


def stem(path: str) -> str:
    return str(Path(path).with_suffix(""))


with logged(snakemake.log[0]):
    affect_figures(
        metrics=snakemake.input.metrics,
        predictions=list(snakemake.input.predictions),
        groups=[from_params(GroupSpec, g) for g in snakemake.params.groups],
        ccc_figure=stem(snakemake.output.ccc),
        circumplex_figures={
            m: stem(p)
            for m, p in zip(snakemake.params.models, snakemake.output.circumplex, strict=True)
        },
        table_md=snakemake.output.table_md,
        table_tex=snakemake.output.table_tex,
    )
