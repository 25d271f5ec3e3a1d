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
        tables=expand(
            "results/tables/{name}.{ext}",
            name=["cross_group", "trend_fits"],
            ext=["md", "tex"],
        ),
    log:
        "logs/figures.log",
    conda:
        "../envs/devfer.yaml"
    params:
        settings=as_json({"groups": config["ages"]["groups"]}),
    script:
        "../scripts/run_stage.py"
