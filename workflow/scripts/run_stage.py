"""Runs the devfer stage of the calling rule (see devfer.stages.run_rule)."""

import sys
from pathlib import Path

# Under --use-conda the environment has the dependencies; devfer comes from this checkout.
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821

from devfer.stages import run_rule

run_rule(snakemake)  # noqa: F821
