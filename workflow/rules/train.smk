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
    threads: config["models"]["threads"]
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
    threads: config["models"]["threads"]
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
