"""The YAML pipeline spec as pydantic models (``extra="forbid"`` everywhere)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

OPTIMIZERS = ("adam", "adamw", "sgd", "riemannian_adam", "riemannian_sgd")
CLASSIFIERS = ("logistic_regression", "svc", "random_forest", "knn", "ridge")
CLASSIFICATION_METRICS = ("accuracy", "macro_f1")
REGRESSION_METRICS = ("mse", "mae", "r2")
METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SplitSpec(_Strict):
    """How samples are split into train and test (graph_nodes data use their own masks)."""

    test: float = Field(0.25, gt=0, lt=1, description="fraction of samples held out for testing")
    stratify: bool = Field(True, description="keep class proportions (classification only)")


class DataSpec(_Strict):
    dataset: str = Field(description="a registered dataset (bare or full name)")
    params: dict[str, Any] = Field(default_factory=dict, description="dataset constructor parameters")
    split: SplitSpec = Field(default_factory=SplitSpec)


class StepSpec(_Strict):
    """A feature step: exactly one of ``descriptor`` or ``encoder`` (frozen feature map)."""

    descriptor: str | None = None
    encoder: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _exactly_one(self) -> StepSpec:
        if (self.descriptor is None) == (self.encoder is None):
            raise ValueError("a step names exactly one of `descriptor:` or `encoder:`")
        return self

    @property
    def kind(self) -> str:
        return "descriptor" if self.descriptor is not None else "encoder"

    @property
    def component(self) -> str:
        return self.descriptor if self.descriptor is not None else self.encoder  # type: ignore[return-value]


TARGET_SCALING = ("per_column", "global", "none")


class TrainOverrides(_Strict):
    target_scaling: Literal[TARGET_SCALING] | None = None  # type: ignore[valid-type]
    epochs: int | None = Field(None, ge=0)
    batch_size: int | None = Field(None, ge=1)
    optimizer: Literal[OPTIMIZERS] | None = None  # type: ignore[valid-type]
    lr: float | None = Field(None, gt=0)
    weight_decay: float | None = Field(None, ge=0)


class TrainSpec(_Strict):
    target_scaling: Literal[TARGET_SCALING] = Field(  # type: ignore[valid-type]
        "per_column",
        description="regression only: standardise targets per column, with one global mean/std "
        "(keeps equivariant targets equivariant under rotations), or not at all",
    )
    epochs: int = Field(10, ge=0)
    batch_size: int = Field(64, ge=1)
    optimizer: Literal[OPTIMIZERS] = "adam"  # type: ignore[valid-type]
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)

    def merged(self, over: TrainOverrides | None) -> TrainSpec:
        if over is None:
            return self
        return self.model_copy(update=over.model_dump(exclude_none=True))


class ModelSpec(_Strict):
    """A trained encoder (``encoder:``) or a scikit-learn estimator on features (``classifier:``)."""

    encoder: str | None = None
    classifier: Literal[CLASSIFIERS] | None = None  # type: ignore[valid-type]
    params: dict[str, Any] = Field(default_factory=dict)
    train: TrainOverrides | None = None
    steps: list[StepSpec] = Field(default_factory=list, description="per-model feature steps")

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelSpec:
        if (self.encoder is None) == (self.classifier is None):
            raise ValueError("a model names exactly one of `encoder:` or `classifier:`")
        if self.classifier is not None and self.train is not None:
            raise ValueError("`train:` applies to encoder models only, not to a classifier")
        return self


class PerturbationSpec(_Strict):
    """Test samples moved by independent random elements of a registered group."""

    group: str
    params: dict[str, Any] = Field(default_factory=dict)
    input_type: str | None = Field(None, description="how the group acts on samples (default: the data type)")
    targets: Literal["invariant", "equivariant"] = Field(
        "invariant", description="regression targets stay (invariant) or move with the input (equivariant)"
    )


class EvaluateSpec(_Strict):
    metrics: list[Literal[METRICS]] = Field(default_factory=list)  # type: ignore[valid-type]
    perturbations: dict[str, PerturbationSpec] = Field(default_factory=dict)


class ExecutorSpec(_Strict):
    kind: Literal["local"] = Field("local", description="only the local (joblib) executor ships today")
    workers: int = Field(1, description="parallel workers for per-sample descriptor steps (-1: all cores)")
    threads: int | None = Field(
        None, ge=1, description="torch intra-op threads while the pipeline runs (default: torch's own choice)"
    )

    @field_validator("workers")
    @classmethod
    def _workers(cls, v: int) -> int:
        if v == 0 or v < -1:
            raise ValueError("workers must be >= 1, or -1 for all cores")
        return v


class PipelineSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="names the run directory")
    description: str = ""
    seed: int = 0
    data: DataSpec
    steps: list[StepSpec] = Field(default_factory=list)
    model: ModelSpec | None = None
    models: dict[str, ModelSpec] | None = None
    train: TrainSpec = Field(default_factory=TrainSpec)
    evaluate: EvaluateSpec = Field(default_factory=EvaluateSpec)
    plots: bool = True
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)

    @model_validator(mode="after")
    def _models(self) -> PipelineSpec:
        if self.model is not None and self.models is not None:
            raise ValueError("give either `model:` or `models:`, not both")
        if self.model is None and not self.models:
            raise ValueError("a pipeline needs `model:` or at least one entry under `models:`")
        return self

    def all_models(self) -> dict[str, ModelSpec]:
        return dict(self.models) if self.models else {"model": self.model}  # type: ignore[dict-item]
