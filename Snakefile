# devfer: when do children's facial expressions become adult-like?
# `snakemake --cores 8` runs the embedded simulated study (config/config.yaml);
# `snakemake --cores 8 --configfile config/paper.yaml` runs the real one instead.

from snakemake.utils import min_version

min_version("9.0")


# A config file named on the command line replaces the embedded study's, rather than
# being merged into it (a merge would mix simulated and real datasets).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/manifest.smk"
include: "workflow/rules/faces.smk"
include: "workflow/rules/ages.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/calibration.smk"
include: "workflow/rules/comparison.smk"
include: "workflow/rules/predict.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
