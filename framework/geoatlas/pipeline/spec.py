"""The YAML pipeline spec as pydantic models (``extra="forbid"`` everywhere)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

OPTIMIZERS = ("adam", "adamw", "sgd", "riemannian_adam", "riemannian_sgd")
CLASSIFIERS = ("logistic_regression", "svc", "random_forest", "knn", "ridge")
CLUSTERERS = ("kmeans", "gaussian_mixture", "agglomerative")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SplitSpec(_Strict):
    """How samples are split into train and test (graph_nodes data use their own masks)."""

    test: float = Field(0.25, gt=0, lt=1, description="fraction of samples held out for testing")
    stratify: bool = Field(True, description="keep class proportions (classification only)")


class ComponentRef(_Strict):
    """A registered component by name, with its constructor parameters. In YAML either
    ``loss: info_nce`` or ``loss: {name: info_nce, params: {temperature: 0.5}}``."""

    name: str = Field(description="a registered component (bare or full name)")
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v


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
    lr_decay: float | None = Field(None, gt=0, le=1)
    checkpoint_seconds: float | None = Field(None, ge=0)


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
    lr_decay: float = Field(
        1.0, gt=0, le=1,
        description="multiply the learning rate by this after every epoch (exponential decay, as NFE and many "
        "knowledge-graph papers train; 1: constant). The current rate is in the optimiser's checkpoint, so a "
        "resumed run continues the schedule",
    )
    checkpoint_seconds: float = Field(
        5.0, ge=0,
        description="save a checkpoint after an epoch once this many seconds have passed since the last one "
        "(always after the first and the last epoch; 0: after every epoch). Resumed runs give the same "
        "result either way: every epoch is reseeded from (seed, epoch).",
    )

    def merged(self, over: TrainOverrides | None) -> TrainSpec:
        if over is None:
            return self
        return self.model_copy(update=over.model_dump(exclude_none=True))


class ModelSpec(_Strict):
    """A trained encoder (``encoder:``, with an optional registered ``loss:``), or a scikit-learn
    estimator on features (``classifier:``, or ``clusterer:`` for the clustering task)."""

    encoder: str | None = None
    classifier: Literal[CLASSIFIERS] | None = None  # type: ignore[valid-type]
    clusterer: Literal[CLUSTERERS] | None = None  # type: ignore[valid-type]
    params: dict[str, Any] = Field(default_factory=dict)
    loss: ComponentRef | None = Field(None, description="a registered loss (default: the task's)")
    train: TrainOverrides | None = None
    steps: list[StepSpec] = Field(default_factory=list, description="per-model feature steps")

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelSpec:
        if sum(x is not None for x in (self.encoder, self.classifier, self.clusterer)) != 1:
            raise ValueError("a model names exactly one of `encoder:`, `classifier:` or `clusterer:`")
        if self.encoder is None and self.train is not None:
            raise ValueError("`train:` applies to encoder models only, not to a scikit-learn estimator")
        if self.encoder is None and self.loss is not None:
            raise ValueError("`loss:` applies to encoder models only, not to a scikit-learn estimator")
        return self

    @property
    def kind(self) -> str:
        return "encoder" if self.encoder is not None else "classifier" if self.classifier is not None else "clusterer"


class ViewSpec(_Strict):
    """How representation learning makes views of a sample: a random element of a registered
    group acting on it, then Gaussian noise."""

    group: ComponentRef | None = Field(None, description="a registered group whose random elements act on samples")
    input_type: str | None = Field(None, description="how the group acts on samples (default: the data type)")
    noise: float = Field(0.0, ge=0, description="std of Gaussian noise added to each view")
    n_views: int = Field(2, ge=1, description="views per sample per step")


class PretrainSpec(_Strict):
    """Self-supervised pre-training of the model's encoder with a registered loss on unlabelled
    training data (representation task); frozen features then feed the probes."""

    loss: ComponentRef = Field(description="a registered loss")
    views: ViewSpec = Field(default_factory=ViewSpec)
    epochs: int = Field(10, ge=0)
    batch_size: int = Field(128, ge=2)
    optimizer: Literal[OPTIMIZERS] = "adam"  # type: ignore[valid-type]
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    probes: list[Literal["linear", "knn"]] = Field(default_factory=lambda: ["linear", "knn"])  # type: ignore[valid-type]
    labels: bool = Field(False, description="give the training labels to the pre-training loss as batch['y'] "
                         "(supervised contrastive objectives: SupCon, SimLAP, ...); the probes are unchanged")


class MeasureSpec(_Strict):
    """A registered measure run after training: on each model (measures that need one) or on the data."""

    measure: str
    params: dict[str, Any] = Field(default_factory=dict)
    part: Literal["test", "train"] = Field("test", description="which part of the data it sees")
    models: list[str] | None = Field(
        None, description="model labels to measure (default: all, for measures that need a model); a measure "
        "that can also work on data alone measures these models when they are named")


class PerturbationSpec(_Strict):
    """Test samples moved by independent random elements of a registered group."""

    group: str
    params: dict[str, Any] = Field(default_factory=dict)
    input_type: str | None = Field(None, description="how the group acts on samples (default: the data type)")
    targets: Literal["invariant", "equivariant"] = Field(
        "invariant", description="regression targets stay (invariant) or move with the input (equivariant)"
    )


class EvaluateSpec(_Strict):
    metrics: list[str] = Field(default_factory=list, description="registered metrics (default: the task's)")
    perturbations: dict[str, PerturbationSpec] = Field(default_factory=dict)
    curves: bool = Field(True, description="record the first metric on the held-out split after every epoch, beside "
                         "the training loss (history, log, progress bar, training-curve plot); nothing is selected on it")


class ExecutorSpec(_Strict):
    """Where the work runs: ``local`` (joblib on this machine) or ``ray`` (a Ray cluster, or a
    local Ray instance; needs the ``ray`` extra). Results are the same for the same seed."""

    kind: Literal["local", "ray"] = Field(
        "local", description="local: joblib on this machine; ray: Ray tasks (pip install 'geoatlas[ray]')"
    )
    workers: int = Field(
        1, description="local: parallel workers for per-sample descriptor steps; ray: CPUs of the local Ray instance "
        "it starts, or CPUs to plan blocks for on a cluster (-1, the default for ray: all cores / the cluster's CPUs)",
    )
    threads: int = Field(
        1, ge=1, description="torch intra-op threads while the pipeline runs (default 1, so that a default run gives "
        "the same metrics on every machine: another thread count changes the order of floating-point sums; raise it "
        "for speed); ray: also the CPUs each model-training task reserves",
    )
    address: str | None = Field(
        None, description="ray only: the cluster to connect to (default: $RAY_ADDRESS, else a new local Ray instance)"
    )
    block_size: int | None = Field(
        None, ge=1, description="ray only: samples per descriptor task (default: about four blocks per CPU)"
    )

    @model_validator(mode="before")
    @classmethod
    def _ray_defaults(cls, v: Any) -> Any:
        if isinstance(v, dict) and v.get("kind") == "ray" and "workers" not in v:
            return {**v, "workers": -1}
        return v

    @field_validator("workers")
    @classmethod
    def _workers(cls, v: int) -> int:
        if v == 0 or v < -1:
            raise ValueError("workers must be >= 1, or -1 for all cores")
        return v

    @model_validator(mode="after")
    def _ray_fields(self) -> ExecutorSpec:
        if self.kind == "ray":
            import importlib.util

            if importlib.util.find_spec("ray") is None:
                raise ValueError(
                    "executor kind 'ray' needs Ray, which is not installed: pip install 'geoatlas[ray]' "
                    "(the optional extra `ray`)"
                )
        elif self.address is not None or self.block_size is not None:
            raise ValueError("`address` and `block_size` apply to `kind: ray` only")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        # unset ray-only fields are left out, so resolved specs of local runs (and resuming them) are unchanged
        out = handler(self)
        for key in ("address", "block_size"):
            if out.get(key) is None:
                out.pop(key, None)
        return out


class PipelineSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="names the run directory")
    description: str = ""
    seed: int = 0
    task: ComponentRef | None = Field(None, description="a registered task (default: the dataset's)")
    data: DataSpec
    steps: list[StepSpec] = Field(default_factory=list)
    model: ModelSpec | None = None
    models: dict[str, ModelSpec] | None = None
    train: TrainSpec = Field(default_factory=TrainSpec)
    pretrain: PretrainSpec | None = None
    evaluate: EvaluateSpec = Field(default_factory=EvaluateSpec)
    measures: list[MeasureSpec] = Field(default_factory=list)
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
