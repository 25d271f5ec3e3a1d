rule manifest:
    input:
        manifest_sources,
    output:
        manifest="results/manifests/{dataset}.parquet",
        qc="results/qc/manifest/{dataset}.parquet",
    log:
        "logs/manifest/{dataset}.log",
    # A second's work that every later stage waits for: ahead of any training when a core
    # frees (without it, gathers waited a minute behind trainings on the critical path).
    priority: 20
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        dataset=lambda w: to_params(S.dataset(config, w.dataset)),
        seed=config["seed"],
        image_cache=lambda w: f"results/sources/{w.dataset}",
    script:
        "../scripts/manifest.py"
