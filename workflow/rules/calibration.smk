# The calibration study: `snakemake calibration`. Not part of the default target.


rule calibration_scenario:
    output:
        "results/calibration/studies/{scenario}.parquet",
    log:
        "logs/calibration/{scenario}.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("calibration")
    resources:
        **job_resources("calibration"),
    params:
        settings=to_params(S.calibration(config)),
        groups=[to_params(g) for g in S.age_groups(config)],
        evaluation=to_params(S.evaluation(config)) if MODELS else None,
        # Read, not required: calibration copies the study's design when it has run, and
        # never runs (or re-runs) the study itself.
        design=calibration_design,
    script:
        "../scripts/calibration_scenario.py"


rule calibration:
    input:
        expand(
            "results/calibration/studies/{scenario}.parquet",
            scenario=config["calibration"]["scenarios"],
        ),
    output:
        summary="results/calibration/summary.parquet",
        figure=report(
            "results/figures/calibration.png",
            caption="../report/figures/calibration.rst",
            category="Calibration",
        ),
        pdf="results/figures/calibration.pdf",
        table_md="results/tables/calibration.md",
        table_tex="results/tables/calibration.tex",
    log:
        "logs/calibration/summary.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    script:
        "../scripts/calibration.py"
