rule age_train:
    input:
        unpack(lambda w: dataset_files(AGE_DATASET)),
    output:
        model="results/models/age_estimator/model.pt",
        history=report(
            "results/models/age_estimator/history.parquet",
            caption="../report/age_history.rst",
            category="Age estimation",
        ),
    log:
        "logs/ages/train.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads
    params:
        settings=as_json(devfer_config.age_train_settings(config)),
    script:
        "../scripts/run_stage.py"


rule age_predict:
    input:
        unpack(age_predict_inputs),
    output:
        "results/ages/{dataset}.parquet",
    log:
        "logs/ages/predict_{dataset}.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads
    params:
        settings=lambda w: as_json(
            devfer_config.age_predict_settings(config, w.dataset)
        ),
    script:
        "../scripts/run_stage.py"


rule age_metrics:
    input:
        unpack(lambda w: dataset_files(AGE_DATASET)),
        model=AGE_MODEL,
    output:
        metrics=report(
            "results/ages/estimator_metrics.parquet",
            caption="../report/age_metrics.rst",
            category="Age estimation",
        ),
        test="results/ages/estimator_test.parquet",
    log:
        "logs/ages/metrics.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads
    params:
        settings=lambda w: as_json(
            devfer_config.age_predict_settings(config, AGE_DATASET)
        ),
    script:
        "../scripts/run_stage.py"
