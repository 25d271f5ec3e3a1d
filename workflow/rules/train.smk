rule train_model:
    input:
        unpack(model_inputs),
    output:
        model="results/models/{model}/seed{seed}/model.pt",
        history="results/models/{model}/seed{seed}/history.parquet",
    log:
        "logs/train/{model}/seed{seed}.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads
    params:
        settings=lambda w: as_json(devfer_config.model_settings(config, w.model)),
        seed=lambda w: int(w.seed),
    script:
        "../scripts/run_stage.py"


rule grid_point:
    input:
        unpack(lambda w: model_inputs(w, with_grid=False)),
    output:
        model=temp("results/models/{model}/grid/{point}/model.pt"),
        history="results/models/{model}/grid/{point}/history.parquet",
    log:
        "logs/train/{model}/grid/{point}.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads
    params:
        settings=lambda w: as_json(devfer_config.model_settings(config, w.model)),
        seed=config["seed"],
        point=lambda w: GRID[int(w.point)],
    script:
        "../scripts/run_stage.py"


rule grid:
    input:
        histories=lambda w: expand(
            "results/models/{model}/grid/{point}/history.parquet",
            model=w.model,
            point=range(len(GRID)),
        ),
    output:
        report(
            "results/models/{model}/grid.parquet",
            caption="../report/grid.rst",
            category="Training",
        ),
    log:
        "logs/train/{model}/grid.log",
    conda:
        "../envs/devfer.yaml"
    params:
        points=GRID,
    script:
        "../scripts/run_stage.py"


rule grid_search:
    input:
        expand("results/models/{model}/grid.parquet", model=MODELS),


rule grid_all:
    input:
        expand("results/models/{model}/grid.parquet", model=MODELS),
    output:
        "results/models/grid.parquet",
    log:
        "logs/train/grid_all.log",
    run:
        import pandas as pd

        pd.concat(
            [pd.read_parquet(p) for p in input], ignore_index=True
        ).to_parquet(output[0])


rule histories:
    input:
        history_files(),
    output:
        "results/models/histories.parquet",
    log:
        "logs/train/histories.log",
    conda:
        "../envs/devfer.yaml"
    script:
        "../scripts/run_stage.py"
