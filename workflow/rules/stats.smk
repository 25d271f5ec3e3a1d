rule stats:
    input:
        unpack(stats_inputs),
    output:
        trend_fits="results/stats/trend_fits.parquet",
        trend_curves="results/stats/trend_curves.parquet",
        transition="results/stats/transition.parquet",
        sensitivity="results/stats/sensitivity.parquet",
        decomposition="results/stats/decomposition.parquet",
        decomposition_change="results/stats/decomposition_change.parquet",
    log:
        "logs/stats/statistics.log",
    conda:
        "../envs/devfer.yaml"
    # Its threads are processes: the per-seed re-analyses beside the pooled one. It runs
    # last, alone, so locally it takes a heavy job's share of the cores.
    threads: heavy_threads("light")
    resources:
        **job_resources("light"),
    params:
        settings=to_params(S.evaluation(config)) if MODELS else None,
    script:
        "../scripts/stats.py"
