rule figures:
    input:
        unpack(figure_inputs),
    output:
        figures=[
            report(
                f"results/figures/{name}.{ext}",
                caption=f"../report/figures/{name}.rst",
                category="Figures",
            )
            for name in FIGURES
            for ext in ("pdf", "png")
        ],
        tables=expand("results/tables/{name}.{ext}", name=TABLES, ext=["md", "tex"]),
    log:
        "logs/figures.log",
    conda:
        "../envs/devfer.yaml"
    params:
        groups=[to_params(g) for g in S.age_groups(config)],
    script:
        "../scripts/figures.py"
