rule simulate:
    output:
        images=directory("results/simulation/{sim}"),
        answer_key="results/simulation/{sim}.parquet",
    params:
        settings=lambda w: as_json(devfer_config.simulation_settings(config, w.sim)),
    log:
        "logs/simulate/{sim}.log",
    shell:
        "devfer simulate --dataset {wildcards.sim} --settings {params.settings:q} "
        "--out-dir {output.images} --answer-key {output.answer_key} 2> {log}"


rule simulation_truth:
    output:
        report(
            "results/simulation/truth.parquet",
            caption="../report/truth.rst",
            category="Simulation",
        ),
    params:
        midpoint=config.get("simulation", {}).get("midpoint", 10.0),
        steepness=config.get("simulation", {}).get("steepness", 0.8),
    log:
        "logs/simulate/truth.log",
    shell:
        "devfer truth --midpoint {params.midpoint} --steepness {params.steepness} "
        "--out {output} 2> {log}"
