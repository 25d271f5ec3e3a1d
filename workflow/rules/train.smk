rule train:
    input:
        unpack(model_inputs),
    output:
        model="results/models/{model}/seed{seed}/model.pt",
        history="results/models/{model}/seed{seed}/history.parquet",
    log:
        "logs/train/{model}/seed{seed}.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads("train")
    resources:
        **job_resources("train"),
    params:
        settings=lambda w: to_params(S.train_model(config, w.model)),
    script:
        "../scripts/train.py"


rule train_grid_point:
    input:
        unpack(lambda w: model_inputs(w, with_grid=False)),
    output:
        model=temp("results/models/{model}/grid/{point}/model.pt"),
        history="results/models/{model}/grid/{point}/history.parquet",
    log:
        "logs/train/{model}/grid/{point}.log",
    conda:
        "../envs/devfer.yaml"
    threads: heavy_threads("train")
    resources:
        **job_resources("train"),
    params:
        settings=lambda w: to_params(S.grid_point(config, w.model)),
        point=lambda w: to_params(GRID[int(w.point)]),
        seed=config["seed"],
    script:
        "../scripts/train_grid_point.py"


rule train_grid:
    input:
        histories=lambda w: expand(
            "results/models/{model}/grid/{point}/history.parquet",
            model=w.model,
            point=range(len(GRID)),
        ),
    output:
        "results/models/{model}/grid.parquet",
    log:
        "logs/train/{model}/grid.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    params:
        points=[to_params(p) for p in GRID],
    script:
        "../scripts/train_grid.py"


rule train_grid_all:
    input:
        expand("results/models/{model}/grid.parquet", model=MODELS),
    output:
        "results/models/grid.parquet",
    log:
        "logs/train/grid_all.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    script:
        "../scripts/train_grid_all.py"


rule grid_search:
    input:
        expand("results/models/{model}/grid.parquet", model=MODELS),


rule train_histories:
    input:
        history_files(),
    output:
        "results/models/histories.parquet",
    log:
        "logs/train/histories.log",
    conda:
        "../envs/devfer.yaml"
    threads: light_threads("light")
    resources:
        **job_resources("light"),
    script:
        "../scripts/train_histories.py"
