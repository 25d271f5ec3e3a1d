# Bundles of the trained models (results/models/{model}/bundle/) and `snakemake predict`:
# the study's own models on new pictures and videos (config `predict:`).


rule bundle:
    input:
        # A model's bundle is its first seed's weights (README "Using a trained model").
        checkpoint=lambda w: f"results/models/{w.model}/seed{SEEDS[0]}/model.pt",
    output:
        directory("results/models/{model}/bundle"),
    log:
        "logs/bundle/{model}.log",
    wildcard_constraints:
        model="|".join(MODELS) if MODELS else "no-model",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        kind="expression",
        faces=BUNDLE_FACES,
        groups=[to_params(g) for g in S.age_groups(config)],
    script:
        "../scripts/bundle.py"


rule bundle_age:
    input:
        checkpoint=AGE_MODEL,
    output:
        directory("results/models/age_estimator/bundle"),
    log:
        "logs/bundle/age_estimator.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        kind="age",
        faces=BUNDLE_FACES,
        groups=[to_params(g) for g in S.age_groups(config)],
    script:
        "../scripts/bundle.py"


rule bundles:
    input:
        bundle_dirs(),


rule predict:
    input:
        unpack(predict_bundles),
    output:
        "results/predict/predictions.parquet",
    log:
        "logs/predict.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads("evaluate")
    resources:
        **job_resources("evaluate"),
    params:
        settings=config["predict"],
        annotate="results/predict/annotated" if config["predict"]["annotate"] else None,
    script:
        "../scripts/predict.py"
