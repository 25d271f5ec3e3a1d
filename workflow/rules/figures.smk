rule figures:
    input:
        unpack(figure_inputs),
    output:
        figures=[
            report(
                f"results/figures/{name}.png",
                caption=f"../report/figures/{name}.rst",
                category="Figures",
            )
            for name in FIGURES
        ],
        pdfs=expand("results/figures/{name}.pdf", name=FIGURES),
        tables=expand("results/tables/{name}.{ext}", name=TABLES, ext=["md", "tex"]),
    log:
        "logs/figures.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        groups=[to_params(g) for g in S.age_groups(config)],
    script:
        "../scripts/figures.py"


rule figures_report_tables:
    input:
        **{name: table for name, (table, _, _) in report_tables().items()},
    output:
        [
            report(
                f"results/report/{name}.html",
                caption=f"../report/{caption}.rst",
                category=category,
            )
            for name, (_, caption, category) in report_tables().items()
        ],
    log:
        "logs/figures_report_tables.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    script:
        "../scripts/figures_report_tables.py"


rule figures_affect:
    input:
        metrics="results/metrics/valence_arousal.parquet",
        predictions=expand("results/predictions/{model}.parquet", model=AFFECT_MODELS),
    output:
        ccc=report(
            "results/figures/valence_arousal_ccc.png",
            caption="../report/figures/valence_arousal_ccc.rst",
            category="Valence and arousal",
        ),
        ccc_pdf="results/figures/valence_arousal_ccc.pdf",
        circumplex=[
            report(
                f"results/figures/circumplex_{model}.png",
                caption="../report/figures/circumplex.rst",
                category="Valence and arousal",
            )
            for model in AFFECT_MODELS
        ],
        circumplex_pdf=expand(
            "results/figures/circumplex_{model}.pdf", model=AFFECT_MODELS
        ),
        table_md="results/tables/valence_arousal.md",
        table_tex="results/tables/valence_arousal.tex",
    log:
        "logs/figures_affect.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        groups=[to_params(g) for g in S.age_groups(config)],
        models=AFFECT_MODELS,
    script:
        "../scripts/figures_affect.py"
