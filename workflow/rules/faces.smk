rule faces_shard:
    input:
        manifest="results/manifests/{dataset}.parquet",
    output:
        table=temp("results/faces/shards/{dataset}/{shard}.parquet"),
        store=temp("results/faces/shards/{dataset}/{shard}.npy"),
    log:
        "logs/faces/{dataset}/{shard}.log",
    conda:
        "../envs/devfer.yaml"
    threads: config["faces"]["threads"]
    resources:
        **job_resources("faces"),
    params:
        settings=lambda w: to_params(S.faces(config, w.dataset)),
        shards=N_SHARDS,
    script:
        "../scripts/faces_shard.py"


rule faces:
    input:
        tables=shard_files("parquet"),
        stores=shard_files("npy"),
    output:
        table="results/faces/{dataset}.parquet",
        store="results/faces/{dataset}.npy",
        qc="results/qc/faces/{dataset}.parquet",
    log:
        "logs/faces/{dataset}/gather.log",
    priority: 20  # as manifest: a second's work the ages and trainings wait for
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    script:
        "../scripts/faces.py"


rule faces_control:
    input:
        manifest="results/controls/{sim}/{control}/manifest.parquet",
    output:
        table="results/controls/{sim}/{control}/faces.parquet",
        store="results/controls/{sim}/{control}/faces.npy",
    log:
        "logs/faces/{sim}_{control}.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads("faces")
    resources:
        **job_resources("faces"),
    params:
        settings=lambda w: to_params(S.faces(config, w.sim)),
    script:
        "../scripts/faces_control.py"
