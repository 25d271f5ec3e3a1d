# The model zoo: `snakemake comparison`. Not part of the default target.


rule comparison_run:
    input:
        unpack(comparison_inputs),
    output:
        predictions="results/comparison/runs/{backbone}/{replicate}/predictions.parquet",
        history="results/comparison/runs/{backbone}/{replicate}/history.parquet",
        model="results/comparison/runs/{backbone}/{replicate}/model.pt",
    log:
        "logs/comparison/{backbone}/{replicate}.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads("comparison")
    resources:
        **job_resources("comparison"),
    params:
        settings=to_params(S.comparison(config)) if COMPARED else None,
        groups=[to_params(g) for g in S.age_groups(config)],
    script:
        "../scripts/comparison_run.py"


rule comparison_cost:
    input:
        # After the runs: latency is timed on a machine no training job shares.
        comparison_files("model.pt"),
    output:
        "results/comparison/cost.parquet",
    log:
        "logs/comparison/cost.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads("comparison")
    resources:
        **job_resources("comparison"),
    params:
        settings=to_params(S.comparison_cost(config)) if COMPARED else None,
        backbones=BACKBONES,
    script:
        "../scripts/comparison_cost.py"


rule comparison:
    input:
        predictions=comparison_files("predictions.parquet"),
        cost="results/comparison/cost.parquet",
    output:
        metrics="results/comparison/metrics.parquet",
        summary="results/comparison/summary.parquet",
        per_class="results/comparison/per_class.parquet",
        confusion="results/comparison/confusion.parquet",
        fairness="results/comparison/fairness.parquet",
        fairness_gaps="results/comparison/fairness_gaps.parquet",
        # Empty unless comparison.valence_arousal.enabled.
        valence_arousal="results/comparison/valence_arousal.parquet",
        figure=report(
            "results/figures/comparison_cost.png",
            caption="../report/figures/comparison.rst",
            category="Comparison",
        ),
        table_md="results/tables/comparison.md",
        table_tex="results/tables/comparison.tex",
    log:
        "logs/comparison/summary.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        settings=to_params(S.comparison_scores(config)) if COMPARED else None,
    script:
        "../scripts/comparison.py"
