rule stats:
    input:
        unpack(stats_inputs),
    output:
        trend_fits=report(
            "results/stats/trend_fits.parquet",
            caption="../report/trend_fits.rst",
            category="Statistics",
        ),
        trend_curves="results/stats/trend_curves.parquet",
        transition=report(
            "results/stats/transition.parquet",
            caption="../report/transition.rst",
            category="Statistics",
        ),
        sensitivity="results/stats/sensitivity.parquet",
    log:
        "logs/stats/statistics.log",
    conda:
        "../envs/devfer.yaml"
    params:
        settings=to_params(S.evaluation(config)) if MODELS else None,
    script:
        "../scripts/stats.py"
