rule faces_shard:
    input:
        manifest="results/manifests/{dataset}.parquet",
    output:
        table=temp("results/faces/shards/{dataset}/{shard}.parquet"),
        store=temp("results/faces/shards/{dataset}/{shard}.npy"),
    params:
        settings=lambda w: as_json(devfer_config.faces_settings(config, w.dataset)),
        shards=N_SHARDS,
    threads: config["faces"]["threads"]
    log:
        "logs/faces/{dataset}/{shard}.log",
    shell:
        "devfer align --dataset {wildcards.dataset} --settings {params.settings:q} "
        "--manifest {input.manifest} --shard {wildcards.shard} --shards {params.shards} "
        "--threads {threads} --out-table {output.table} --out-store {output.store} 2> {log}"


rule faces:
    input:
        tables=shard_outputs("tables"),
        stores=shard_outputs("stores"),
    output:
        table="results/faces/{dataset}.parquet",
        store="results/faces/{dataset}.npy",
        qc=report(
            "results/qc/faces/{dataset}.parquet",
            caption="../report/faces_qc.rst",
            category="Quality control",
        ),
    log:
        "logs/faces/{dataset}/gather.log",
    shell:
        "devfer gather --dataset {wildcards.dataset} --tables {input.tables} "
        "--stores {input.stores} --out-table {output.table} --out-store {output.store} "
        "--qc {output.qc} 2> {log}"
