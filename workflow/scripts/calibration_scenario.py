"""Rule calibration_scenario: simulated studies of one scenario, analysed as the study is."""

import sys
from pathlib import Path

# Under --use-conda devfer is not installed: import it from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from devfer.ages.settings import GroupSpec
from devfer.calibration.settings import CalibrationSettings
from devfer.calibration.stage import run_scenario
from devfer.config.typed import from_params
from devfer.evaluate.settings import EvaluationSettings
from devfer.runlog import logged

with logged(snakemake.log[0]):
    run_scenario(
        settings=from_params(CalibrationSettings, snakemake.params.settings),
        name=snakemake.wildcards.scenario,
        groups=[from_params(GroupSpec, g) for g in snakemake.params.groups],
        evaluation=from_params(EvaluationSettings, snakemake.params.evaluation),
        predictions=list(snakemake.params.design),
        out=snakemake.output[0],
        threads=snakemake.threads,
    )
