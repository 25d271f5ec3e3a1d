rule simulate:
    output:
        images=directory("results/simulation/{sim}"),
        answer_key="results/simulation/{sim}.parquet",
    log:
        "logs/simulate/{sim}.log",
    conda:
        "../envs/devfer.yaml"
    params:
        settings=lambda w: as_json(devfer_config.simulation_settings(config, w.sim)),
    script:
        "../scripts/run_stage.py"


rule simulation_truth:
    output:
        report(
            "results/simulation/truth.parquet",
            caption="../report/truth.rst",
            category="Simulation",
        ),
    log:
        "logs/simulate/truth.log",
    conda:
        "../envs/devfer.yaml"
    params:
        midpoint=config.get("simulation", {}).get("midpoint", 10.0),
        steepness=config.get("simulation", {}).get("steepness", 0.8),
        infant_similarity=config.get("simulation", {}).get("infant_similarity", 0.3),
    script:
        "../scripts/run_stage.py"
