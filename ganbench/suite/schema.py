"""The schema of a suite file: its sections as pydantic models, the run keys and the
bounds every value is checked against, and pydantic errors as key paths."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ganbench.registry import unknown_message
from ganbench.suite import reference as published
from ganbench.util.strict_yaml import show

PLUGIN_KEYS = {  # run-config key -> registry kind
    "dataset": "datasets",
    "objective": "objectives",
    "regularizer": "regularizers",
    "scheme": "schemes",
    "model": "models",
}
RUN_KEYS = [*PLUGIN_KEYS, "optimizer", "training", "evaluation", "seed"]

# Upper bounds: generous for any GAN experiment, low enough that a typo (an extra zero, a
# unit slip) is caught when the suite is read rather than by hours of training, an
# out-of-memory crash, or a grid too large to list.
MAX_ITERATIONS = 10**7  # 20x stacked MNIST's 500k
MAX_BATCH = 65536
MAX_SAMPLES = 10**6  # evaluation samples: 20x FID's customary 50k
MAX_LR = 10.0
MAX_SEED = 2**32 - 1  # numpy's seed range
MAX_RUNS = 10_000  # runs one suite expands into
# plug-in parameters: named sizes, and a ceiling for any other number (1e300 is a typo)
MAX_PARAM = {"latent_dim": 65536, "width": 65536, "critic_width": 65536, "depth": 1000,
             # datasets build their modes while the suite is validated: a grid of size s
             # has s^2 (1024: 1M modes, 8 MB), an image's side is s pixels
             "size": 1024, "modes": 100_000}
MAX_NUMBER = 1e9


class _Strict(BaseModel):
    # strict: "100" or true is not a number; a number must be finite
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class OptimizerCfg(_Strict):
    name: Literal["adam", "sgd", "rmsprop"] = "adam"  # rmsprop: beta2 is its decay (alpha)
    lr_g: float = Field(1e-4, gt=0, le=MAX_LR)
    lr_d: float = Field(1e-4, gt=0, le=MAX_LR)
    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    momentum: float = Field(0.0, ge=0, lt=1)


class TrainingCfg(_Strict):
    iterations: int = Field(2000, ge=1, le=MAX_ITERATIONS)
    batch_size: int = Field(256, ge=2, le=MAX_BATCH)
    ema: float = Field(0.0, ge=0, lt=1, description="EMA decay of generator weights; 0 = off")
    # how often (seconds) to checkpoint at evaluations; None: the trainer's default. Not
    # part of run ids (NOT_IN_RUN_ID): it changes no result
    checkpoint_every_s: float | None = Field(None, ge=0, le=86400)
    # autocast of the players' passes (ganbench.train.precision); master weights, optimiser
    # state, EMA and evaluation stay fp32. In run ids only when not fp32 (ID_DEFAULTS)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    # torch.compile of the players (true: inductor; cudagraphs: CUDA graphs, GPU only; eager:
    # tracing without code generation). In run ids only when set (ID_DEFAULTS)
    compile: bool | Literal["inductor", "cudagraphs", "aot_eager", "eager"] = False


class EvaluationCfg(_Strict):
    every: int = Field(500, ge=1, le=MAX_ITERATIONS)
    samples: int = Field(2500, ge=10, le=MAX_SAMPLES)
    metrics: list[str | dict[str, Any]] | None = None


class TableCfg(_Strict):
    rows: list[str] = ["objective", "scheme"]
    columns: list[str] = ["dataset"]
    metrics: list[str] | None = None
    title: str | None = None
    # the tests behind the table's claims (top groups, verdicts): level, multiplicity
    # correction over a column, and the interval of the mean shown in each cell
    alpha: float = Field(0.05, gt=0, lt=1)
    correction: Literal["holm", "bonferroni", "none"] = "holm"
    interval: Literal["t", "bootstrap"] = "t"


class SeedsCfg(_Strict):
    """Adaptive seeds: ``min`` seeds everywhere, then ``step`` more per round where a claim
    of the table is undecided, up to ``max`` (seeds 0, 1, 2, ...)."""

    min: int = Field(3, ge=2, le=100)
    max: int = Field(10, ge=2, le=100)
    step: int = Field(2, ge=1, le=100)


class SuiteFile(_Strict):
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+\z")  # \z: no final newline
    description: str = ""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    base: dict[str, Any] = {}
    grid: dict[str, list[Any]] = {}
    cases: list[dict[str, Any]] = []
    table: TableCfg = TableCfg()
    seeds: SeedsCfg | None = None  # adaptive seeds, in place of a grid.seed axis
    check: dict[str, dict[str, float]] = {}  # metric -> {abs: .., rel: ..} band overrides
    # published values of the table(s) the suite reproduces (ganbench.suite.reference)
    reference: published.Reference | None = None
    references: list[published.Reference] = []
    # importable modules that register plug-ins, imported before the runs are validated
    plugins: list[str] = []
    # the folder of local feature-extractor weights (relative: to the suite file's folder);
    # $GANBENCH_WEIGHTS, where set, wins (it names this machine's copy). Not in run ids:
    # where the weights lie is not a setting of the experiment
    weights: str | None = Field(None, min_length=1, max_length=4096)

    @model_validator(mode="after")
    def _default_rows_name_the_grid(self) -> SuiteFile:
        # rows left to their default also name every other grid axis: a cell then holds one
        # configuration (results.pooling) without the user listing what the grid varies
        if "rows" not in self.table.model_fields_set:
            rows = list(self.table.rows)
            rows += [k for k in self.grid if k != "seed" and k not in rows
                     and k not in self.table.columns]
            self.table = self.table.model_copy(update={"rows": rows})
        return self


SECTION_MODELS = {"optimizer": OptimizerCfg, "training": TrainingCfg, "evaluation": EvaluationCfg}

DEFAULT_BASE: dict[str, Any] = {
    "dataset": "ring",
    "objective": "nonsaturating",
    "regularizer": None,
    "scheme": "alternating",
    "model": "mlp",
    "optimizer": {},
    "training": {},
    "evaluation": {},
    "seed": 0,
}


def pydantic_problems(exc: ValidationError, model: type[BaseModel], prefix: str = ""
                      ) -> list[tuple[str, str]]:
    """(key path, message) of a validation error; an unknown key lists the valid ones."""
    out = []
    for err in exc.errors():
        loc = err["loc"]
        path = prefix
        for x in loc:
            path += f"[{x}]" if isinstance(x, int) else (f".{x}" if path else str(x))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            fields = _fields_at(model, loc[:-1])
            if fields is not None:
                msg = unknown_message("key", str(loc[-1]), fields)
        elif err["type"] != "missing" and "input" in err:
            msg += f", got {show(err['input'])}"  # what was given, cut short
        out.append((path, msg))
    return out


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str] | None:
    """Keys of the (nested) section that ``loc`` leads to from ``model``."""
    import typing

    for x in loc:
        if isinstance(x, int):
            continue  # an index into a list of sections
        field_ = model.model_fields.get(str(x))
        if field_ is None:
            return None
        args = [field_.annotation, *typing.get_args(field_.annotation)]
        nested = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        nested += [b for a in args for b in typing.get_args(a)
                   if isinstance(b, type) and issubclass(b, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return list(model.model_fields)
