rule manifest:
    input:
        manifest_sources,
    output:
        manifest="results/manifests/{dataset}.parquet",
        qc="results/qc/manifest/{dataset}.parquet",
    log:
        "logs/manifest/{dataset}.log",
    conda:
        "../envs/devfer.yaml"
    params:
        settings=lambda w: as_json(devfer_config.manifest_settings(config, w.dataset)),
        image_cache=lambda w: f"results/sources/{w.dataset}",
    script:
        "../scripts/run_stage.py"
