rule evaluate_predict:
    input:
        unpack(evaluation_files),
    output:
        "results/predictions/{model}.parquet",
    log:
        "logs/evaluate/predict_{model}.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads("evaluate")
    resources:
        **job_resources("evaluate"),
    params:
        settings=to_params(S.evaluation(config)) if MODELS else None,
        datasets=EVALUATION_DATASETS,
    script:
        "../scripts/evaluate_predict.py"


rule evaluate:
    input:
        predictions=expand("results/predictions/{model}.parquet", model=MODELS),
    output:
        cross_group="results/metrics/cross_group.parquet",
        by_seed="results/metrics/cross_group_by_seed.parquet",
        confusion="results/metrics/confusion.parquet",
        composition="results/metrics/composition.parquet",
    log:
        "logs/evaluate/metrics.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        settings=to_params(S.evaluation(config)) if MODELS else None,
    script:
        "../scripts/evaluate.py"


rule evaluate_control:
    input:
        unpack(control_evaluation_files),
    output:
        "results/predictions/controls/{control}/{model}.parquet",
    log:
        "logs/evaluate/predict_{model}_{control}.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads("evaluate")
    resources:
        **job_resources("evaluate"),
    params:
        settings=to_params(S.evaluation(config)) if MODELS else None,
        datasets=CONTROLLED,
    # The same job as evaluate_predict, on the control faces (paired by image id).
    script:
        "../scripts/evaluate_predict.py"


rule fairness:
    input:
        predictions=expand("results/predictions/{model}.parquet", model=MODELS),
        # Sex and skin tone: what a simulation's answer key knows of each face.
        answer_keys=expand(
            "results/simulation/{sim}.parquet",
            sim=[d for d in EVALUATION_DATASETS if d in SIMULATED],
        ),
    output:
        per_group="results/metrics/fairness.parquet",
        gaps="results/metrics/fairness_gaps.parquet",
    log:
        "logs/evaluate/fairness.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        settings=to_params(S.study_fairness(config)) if MODELS else None,
    script:
        "../scripts/fairness.py"


rule evaluate_affect:
    input:
        predictions=expand("results/predictions/{model}.parquet", model=MODELS),
        # The noise-free valence and arousal a simulation knows: the metrics' ceiling.
        answer_keys=expand(
            "results/simulation/{sim}.parquet",
            sim=[d for d in EVALUATION_DATASETS if d in SIMULATED],
        ),
    output:
        "results/metrics/valence_arousal.parquet",
    log:
        "logs/evaluate/valence_arousal.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        settings=to_params(S.evaluation(config)) if MODELS else None,
    script:
        "../scripts/evaluate_affect.py"
