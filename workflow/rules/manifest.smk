rule manifest:
    input:
        manifest_sources,
    output:
        manifest="results/manifests/{dataset}.parquet",
        qc="results/qc/manifest/{dataset}.parquet",
    params:
        settings=lambda w: as_json(devfer_config.manifest_settings(config, w.dataset)),
        image_cache=lambda w: f"results/sources/{w.dataset}",
    log:
        "logs/manifest/{dataset}.log",
    shell:
        "devfer manifest --dataset {wildcards.dataset} --settings {params.settings:q} "
        "--image-cache {params.image_cache} --out {output.manifest} --qc {output.qc} 2> {log}"
