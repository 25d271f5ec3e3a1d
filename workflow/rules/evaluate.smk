rule predict:
    input:
        models=lambda w: expand(
            "results/models/{model}/seed{seed}/model.pt", model=w.model, seed=SEEDS
        ),
        data=evaluation_files(),
    output:
        "results/predictions/{model}.parquet",
    log:
        "logs/evaluate/predict_{model}.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads
    params:
        settings=as_json(devfer_config.evaluation_settings(config)),
    script:
        "../scripts/run_stage.py"


rule evaluate:
    input:
        predictions=expand("results/predictions/{model}.parquet", model=MODELS),
    output:
        cross_group=report(
            "results/metrics/cross_group.parquet",
            caption="../report/cross_group.rst",
            category="Evaluation",
        ),
        by_seed="results/metrics/cross_group_by_seed.parquet",
        confusion="results/metrics/confusion.parquet",
        composition="results/metrics/composition.parquet",
    log:
        "logs/evaluate/metrics.log",
    conda:
        "../envs/devfer.yaml"
    params:
        settings=as_json(devfer_config.evaluation_settings(config)),
    script:
        "../scripts/run_stage.py"


rule statistics:
    input:
        unpack(statistics_inputs),
    output:
        trend_fits=report(
            "results/stats/trend_fits.parquet",
            caption="../report/trend_fits.rst",
            category="Statistics",
        ),
        trend_curves="results/stats/trend_curves.parquet",
        transition=report(
            "results/stats/transition.parquet",
            caption="../report/transition.rst",
            category="Statistics",
        ),
        sensitivity="results/stats/sensitivity.parquet",
    log:
        "logs/stats/statistics.log",
    conda:
        "../envs/devfer.yaml"
    params:
        settings=as_json(devfer_config.evaluation_settings(config)),
    script:
        "../scripts/run_stage.py"
