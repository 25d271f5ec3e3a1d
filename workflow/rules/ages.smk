# The estimator and its predictions have priority: the adult model and every evaluation wait
# for them.
rule ages_train:
    input:
        unpack(lambda w: dataset_inputs(AGE_DATASET)),
    output:
        model="results/models/age_estimator/model.pt",
        history="results/models/age_estimator/history.parquet",
    log:
        "logs/ages/train.log",
    priority: 10
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads("ages", sole=True)
    resources:
        **job_resources("ages", sole=True),
    params:
        settings=to_params(S.age_train(config)),
    script:
        "../scripts/ages_train.py"


rule ages_predict:
    input:
        unpack(ages_predict_inputs),
    output:
        "results/ages/{dataset}.parquet",
    log:
        "logs/ages/predict_{dataset}.log",
    priority: 20
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads("ages")
    resources:
        **job_resources("ages"),
    params:
        settings=lambda w: to_params(S.age_predict(config, w.dataset)),
    script:
        "../scripts/ages_predict.py"


rule ages_metrics:
    input:
        unpack(lambda w: dataset_inputs(AGE_DATASET)),
        model=AGE_MODEL,
    output:
        metrics="results/ages/estimator_metrics.parquet",
        test="results/ages/estimator_test.parquet",
    log:
        "logs/ages/metrics.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads("ages")
    resources:
        **job_resources("ages"),
    params:
        settings=lambda w: to_params(S.age_predict(config, AGE_DATASET)),
    script:
        "../scripts/ages_metrics.py"
