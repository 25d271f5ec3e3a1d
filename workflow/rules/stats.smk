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
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        settings=to_params(S.evaluation(config)) if MODELS else None,
    script:
        "../scripts/stats.py"
