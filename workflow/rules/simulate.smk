rule simulate:
    output:
        images=directory("results/simulation/{sim}"),
        answer_key="results/simulation/{sim}.parquet",
    log:
        "logs/simulate/{sim}.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        simulation=to_params(S.simulation(config)) if SIMULATED else None,
        dataset=lambda w: to_params(S.simulated_dataset(config, w.sim)),
        seed=config["seed"],
    script:
        "../scripts/simulate.py"


rule simulate_truth:
    output:
        "results/simulation/truth.parquet",
    log:
        "logs/simulate/truth.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        # Only the curve's parameters: rendering settings leave the truth unchanged.
        truth=(
            {
                k: getattr(S.simulation(config), k)
                for k in (
                    "midpoint",
                    "steepness",
                    "infant_similarity",
                    "expression_development",
                )
            }
            if SIMULATED
            else None
        ),
    script:
        "../scripts/simulate_truth.py"


rule simulate_control:
    input:
        unpack(control_design_inputs),
    output:
        images=directory("results/controls/{sim}/{control}/images"),
        manifest="results/controls/{sim}/{control}/manifest.parquet",
    log:
        "logs/simulate/{sim}_{control}.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        simulation=to_params(S.simulation(config)) if SIMULATED else None,
        seed=config["seed"],
        training=TRAINING,
    script:
        "../scripts/simulate_control.py"
