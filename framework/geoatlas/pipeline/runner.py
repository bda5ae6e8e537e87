"""Running a validated pipeline: data -> steps -> models -> metrics, in a run directory."""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GeoatlasError, SpecError
from .spec import PipelineSpec, StepSpec
from .validate import INFERRED_PARAMS, validate_data
from .yamlio import Lines, apply_overrides, load_yaml, read_spec_source


@dataclass
class RunResult:
    """What a run produced: ``metrics`` (also in ``run_dir/metrics.json``) and the fitted models."""

    metrics: dict[str, Any]
    run_dir: Path
    models: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, label: str) -> dict[str, Any]:
        return self.metrics["models"][label]

    @classmethod
    def open(cls, run_dir: str | Path) -> RunResult:
        """A finished run read back from its directory (metrics only; ``load_model`` rebuilds models)."""
        d = Path(run_dir)
        path = d / "metrics.json"
        if not path.exists():
            raise SpecError(f"{str(d)!r} is not a finished run directory (no metrics.json)")
        return cls(json.loads(path.read_text(encoding="utf-8")), d)

    def load_model(self, label: str) -> Any:
        """Rebuild the trained encoder of model ``label`` from ``checkpoints/<label>.pt`` (same
        encoder, same parameters, trained weights), in eval mode. The checkpoint is read with
        ``torch.load(weights_only=True)``: only tensors and plain values, no code."""
        import torch

        from ..api import create

        ck = self.run_dir / "checkpoints"
        done, weights = ck / f"{label}.done.json", ck / f"{label}.pt"
        labels = (p.name[: -len(".done.json")] for p in ck.glob("*.done.json")) if ck.exists() else ()
        models = sorted(n for n in labels if (ck / f"{n}.pt").exists())  # reloadable: a weights file beside it
        if not done.exists() or not weights.exists():
            listed = ", ".join(models) or "none"
            raise SpecError(f"run {str(self.run_dir)!r} has no trained encoder checkpoint for {label!r} "
                            f"(reloadable models: {listed}; scikit-learn models and descriptors are not checkpointed)")
        meta = json.loads(done.read_text(encoding="utf-8"))
        if "encoder" not in meta:
            raise SpecError(f"model {label!r} of {str(self.run_dir)!r} cannot be rebuilt: "
                            f"{meta.get('not_reloadable', 'the run predates reloadable checkpoints')}")
        model = create("encoder", meta["encoder"], **meta["params"])
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        model.eval()
        return model


class Pipeline:
    """A pipeline built from a YAML spec (``Pipeline.from_yaml``) or a dict (``from_dict``)."""

    def __init__(self, data: dict[str, Any], lines: Lines | None = None, source: str = "<spec>", base_dir: Path | None = None) -> None:
        self.data, self.lines, self.source, self.base_dir = data, lines or {}, source, base_dir
        self._spec: PipelineSpec | None = None

    @classmethod
    def from_yaml(cls, path_or_text: str | Path, overrides: list[str] | dict[str, Any] | None = None) -> Pipeline:
        """Read a spec from a ``.yaml`` path or from YAML text; ``overrides`` as ``["train.epochs=2"]``."""
        text, source, base = read_spec_source(path_or_text)
        data, lines = load_yaml(text, source)
        return cls(apply_overrides(data, overrides, lines), lines, source, base)

    @classmethod
    def from_dict(cls, data: dict[str, Any], overrides: list[str] | dict[str, Any] | None = None) -> Pipeline:
        import copy

        return cls(apply_overrides(copy.deepcopy(data), overrides))

    @property
    def spec(self) -> PipelineSpec:
        return self.validate()

    def validate(self) -> PipelineSpec:
        """Check everything (schema, component names, parameters, files). Raises ``SpecError``."""
        if self._spec is None:
            self._spec = validate_data(self.data, self.lines, self.source, self.base_dir)
        return self._spec

    def run(self, run_dir: str | Path | None = None, *, resume: bool = False, runs_root: str | Path = "runs", progress: bool = True) -> RunResult:
        """Run the pipeline and return its :class:`RunResult`.

        ``resume=True`` continues the newest run of this pipeline under ``runs_root`` (or
        ``run_dir``) from its checkpoints.
        """
        spec = self.validate()
        folder = Path(self.source).stem if self.source.endswith((".yaml", ".yml")) else spec.name
        return _Run(spec, self, _choose_run_dir(spec, run_dir, resume, Path(runs_root), folder), resume, progress).execute()


def _choose_run_dir(spec: PipelineSpec, run_dir: str | Path | None, resume: bool, root: Path,
                    folder: str | None = None) -> Path:
    """``run_dir``, else ``root/<spec file name>/<UTC time>`` (``root/<spec name>/...`` for a spec
    given as text or a dict); with ``resume`` the newest run there."""
    if run_dir is not None:
        p = Path(run_dir)
        if resume and not (p / "spec.resolved.yaml").exists():
            raise SpecError(f"cannot resume: {str(p)!r} is not a run directory (no spec.resolved.yaml)")
        return p
    base = root / (folder or spec.name)
    if resume:
        runs = sorted(d for d in base.glob("*") if (d / "spec.resolved.yaml").exists()) if base.exists() else []
        if not runs:
            raise SpecError(f"cannot resume: no earlier run of {spec.name!r} under {str(base)!r}")
        return runs[-1]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    p, k = base / stamp, 1
    while p.exists():
        p, k = base / f"{stamp}-{k}", k + 1
    return p


def _training_labels(split: dict[str, Any]) -> Any:
    """The labels shared steps may fit on. One graph with node labels carries every node's label
    (its encoders train through the train mask): the test nodes' labels are hidden as -1, the
    scikit-learn convention for unlabelled samples, so no step can learn from them."""
    y = split.get("y_train")
    mask = split.get("train_mask")
    if mask is None or y is None:
        return y
    y = np.array(y, copy=True)
    if not np.issubdtype(y.dtype, np.integer):
        y = y.astype(np.float64)
        y[~np.asarray(mask, dtype=bool)] = np.nan
        return y
    y[~np.asarray(mask, dtype=bool)] = -1
    return y


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def _clean(d: Any) -> Any:
    """Measure output as JSON-ready values (arrays to lists, numpy scalars to floats)."""
    if isinstance(d, dict):
        return {str(k): _clean(v) for k, v in d.items()}
    if hasattr(d, "tolist"):
        return d.tolist()
    if isinstance(d, (list, tuple)):
        return [_clean(v) for v in d]
    return d


class _Run:
    def __init__(self, spec: PipelineSpec, pipeline: Pipeline, run_dir: Path, resume: bool, progress: bool) -> None:
        from rich.console import Console

        self.spec, self.pipeline, self.dir, self.resume, self.show = spec, pipeline, run_dir, resume, progress
        self.console = Console(stderr=True, quiet=not progress)
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ io
    def log(self, msg: str) -> None:
        line = f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} {msg}"
        with open(self.dir / "log.txt", "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def _write_spec(self) -> None:
        import yaml

        from ..utils import atomic_write_text

        text = yaml.safe_dump(self.spec.model_dump(mode="json"), sort_keys=False)
        target = self.dir / "spec.resolved.yaml"
        if self.resume and target.exists():
            if target.read_text(encoding="utf-8") != text:
                raise SpecError(
                    f"cannot resume {str(self.dir)!r}: the spec differs from the one that started the run "
                    "(compare with its spec.resolved.yaml); start a new run instead"
                )
            return
        atomic_write_text(target, text)

    def _write_environment(self) -> None:
        """``environment.json``: what a number in this run depends on besides the spec — library
        versions, torch threads, seed, platform, the command and the source commit."""
        import platform
        import subprocess
        import sys
        from importlib import metadata

        import torch
        from threadpoolctl import threadpool_info

        from .. import __version__
        from ..plugins import catalog
        from ..utils import atomic_write_text

        def version(dist: str) -> str | None:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                return None

        libs = {d: version(d) for d in ("torch", "numpy", "scipy", "scikit-learn", "geoopt", "torch-geometric",
                                         "gudhi", "multipers", "pyriemann", "POT", "e3nn", "networkx", "pydantic")}
        try:
            commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                    cwd=Path(__file__).resolve().parent).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            commit = None
        env = {
            "geoatlas": __version__,
            "geoatlas_commit": commit,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "machine": platform.machine(),
            "torch_threads": torch.get_num_threads(),
            "blas_threads": {p["internal_api"]: p["num_threads"] for p in threadpool_info()},
            "torch_deterministic": torch.are_deterministic_algorithms_enabled(),
            "seed": self.spec.seed,
            "command": list(sys.argv),
            "cwd": str(Path.cwd()),
            "source": self.pipeline.source,
            "libraries": {k: v for k, v in libs.items() if v is not None},
            "plugins": {s.id: s.version for s in catalog().statuses.values() if s.state == "loaded"},
        }
        name = "environment.resumed.json" if self.resume and (self.dir / "environment.json").exists() else "environment.json"
        atomic_write_text(self.dir / name, json.dumps(env, indent=2, sort_keys=True))

    # ------------------------------------------------------------------ main
    def execute(self) -> RunResult:
        from ..plugins import catalog
        from ..utils import atomic_write_text, seed_everything

        spec = self.spec
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "checkpoints").mkdir(exist_ok=True)
        self._write_spec()
        self.log(f"{'resume' if self.resume else 'start'} {spec.name} (seed {spec.seed})")
        spec_dict = spec.model_dump(mode="json")
        hooks = catalog()
        hooks.call_hook("before_pipeline", spec=spec_dict, run_dir=str(self.dir))
        step = "data"
        import torch

        threads_before = torch.get_num_threads()
        torch.set_num_threads(spec.executor.threads)
        # numpy/scipy's BLAS and OpenMP pools get the same thread count as torch: a multithreaded
        # BLAS sums in another order (an ARPACK SVD in a descriptor moved a final loss by 1e-5)
        from threadpoolctl import threadpool_limits

        blas_limits = threadpool_limits(limits=spec.executor.threads)
        self._write_environment()
        try:
            seed_everything(spec.seed)
            hooks.call_hook("before_step", step=step, spec=spec_dict)
            bundle, split, task, task_name = self._load()
            hooks.call_hook("after_step", step=step, spec=spec_dict, outputs={"n_samples": len(bundle), "data_type": bundle.data_type, "task": task_name})
            step = "steps"
            hooks.call_hook("before_step", step=step, spec=spec_dict)
            shared, Xtr, Xte, dt = self._fit_steps(spec.steps, split["X_train"], split["X_test"], bundle.data_type,
                                                   _training_labels(split))
            hooks.call_hook("after_step", step=step, spec=spec_dict, outputs={"data_type": dt})
            from .context import TaskContext

            ctx = TaskContext(self, task, task_name, bundle)
            results: dict[str, Any] = {}
            fitted_models: dict[str, Any] = {}
            histories: dict[str, list[dict[str, float]]] = {}
            model_data: dict[str, dict[str, Any]] = {}

            def started(label: str) -> None:
                nonlocal step
                step = f"train:{label}"
                hooks.call_hook("before_step", step=step, spec=spec_dict)

            # the executor trains the models (local: in turn; ray: in parallel), each from the
            # random state after the shared steps, and yields them in spec order
            trained = self._executor().train_models(self, ctx, spec.all_models(), (shared, Xtr, Xte, dt, bundle, split), started)
            for label, (res, model, hist, mdata), seconds in trained:
                step = f"train:{label}"
                self.timings[label] = seconds
                results[label], fitted_models[label], histories[label], model_data[label] = res, model, hist, mdata
                hooks.call_hook("after_step", step=step, spec=spec_dict, outputs=res)
            metrics = {
                "name": spec.name,
                "seed": spec.seed,
                "task": task_name,
                "data": {
                    "dataset": spec.data.dataset,
                    "data_type": bundle.data_type,
                    "task": bundle.task,
                    "n_train": split["n_train"],
                    "n_test": split["n_test"],
                },
                "models": results,
            }
            if spec.measures:
                step = "measures"
                hooks.call_hook("before_step", step=step, spec=spec_dict)
                metrics["measures"] = self._measures(fitted_models, model_data, {"X_train": Xtr, "X_test": Xte, "data_type": dt}, split)
                hooks.call_hook("after_step", step=step, spec=spec_dict, outputs=metrics["measures"])
            if spec.plots:
                from . import plots

                plots.training_curves(histories, self.dir / "plots" / "training_curves.png")
                names = spec.evaluate.metrics or list(task.default_metrics)
                if spec.evaluate.perturbations and names:
                    plots.perturbation_bars(results, names[0], self.dir / "plots" / "perturbations.png")
            atomic_write_text(self.dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True))
            from .compare import write_results_csv

            write_results_csv(metrics, self.dir / "results.csv")
            atomic_write_text(self.dir / "timings.json", json.dumps({"train_seconds": self.timings}, indent=2))
            self.log("done")
            hooks.call_hook("after_pipeline", spec=spec_dict, metrics=metrics, run_dir=str(self.dir))
            return RunResult(metrics, self.dir, fitted_models)
        except BaseException as exc:
            hooks.call_hook("on_error", step=step, spec=spec_dict, error=exc)
            self.log(f"error in {step}: {type(exc).__name__}: {exc}")
            raise
        finally:
            torch.set_num_threads(threads_before)
            blas_limits.restore_original_limits()

    # ------------------------------------------------------------------ data
    def _load(self) -> tuple[Any, dict[str, Any], Any, str]:
        from ..api import create

        spec = self.spec
        bundle = create("dataset", spec.data.dataset, **spec.data.params)
        bundle = bundle.load()
        from ..plugins import catalog

        requested = spec.task.name if spec.task is not None else bundle.task
        task = create("task", requested, **(spec.task.params if spec.task is not None else {}))
        task_name = catalog().resolve("task", requested).name  # metrics name tasks by their bare names
        why = task.incompatibility(bundle.data_type, bundle.task)
        if why is not None:
            raise GeoatlasError(f"task {task_name!r} cannot run on dataset {spec.data.dataset!r}: {why}")
        if bundle.task == "classification" and bundle.data_type != "graph_nodes":
            classes, y = np.unique(np.asarray(bundle.y), return_inverse=True)
            bundle.y = y.astype(np.int64)
            bundle.meta.setdefault("n_classes", len(classes))
        if isinstance(bundle.X, np.ndarray) and bundle.X.dtype.kind == "f" and not np.isfinite(bundle.X).all():
            raise GeoatlasError(f"dataset {spec.data.dataset!r} returned NaN/Inf values")
        split = task.split(bundle, spec.data.split, spec.seed)
        self.log(f"data: {spec.data.dataset} ({bundle.data_type}, task {task_name}), train {split['n_train']}, test {split['n_test']}")
        return bundle, split, task, task_name

    # ------------------------------------------------------------------ steps
    def _fit_steps(self, steps: list[StepSpec], Xtr: Any, Xte: Any, dt: str, ytr: Any) -> tuple[list[Any], Any, Any, str]:
        from ..api import create
        ex = self._executor()
        fitted = []
        for st in steps:
            t0 = time.perf_counter()
            obj = create(st.kind, st.component, **self._infer(st.kind, st.component, st.params, Xtr, dt, ytr))
            if st.kind == "descriptor":
                with self._status(f"descriptor {st.component}: fit"):
                    obj.fit(Xtr, ytr)
                with self._status(f"descriptor {st.component}: transform {len(Xtr) + len(Xte)} samples"):
                    Xtr, Xte = ex.transform(obj, Xtr), ex.transform(obj, Xte)
                new_dt = getattr(obj, "output_type", "features")
            else:
                obj.eval()
                Xtr, Xte = self._encode(obj, Xtr, dt), self._encode(obj, Xte, dt)
                new_dt = "features"
            fitted.append((st, obj, dt))
            dt = new_dt
            self.log(f"step {st.kind} {st.component} done in {time.perf_counter() - t0:.2f}s")
        return fitted, Xtr, Xte, dt

    def _executor(self) -> Any:
        """The spec's executor (local or ray), made once per run."""
        if getattr(self, "_ex", None) is None:
            from .executor import make_executor

            self._ex = make_executor(self.spec.executor)
        return self._ex

    def _apply_steps(self, fitted: list[Any], X: Any) -> Any:
        ex = self._executor()
        for st, obj, dt in fitted:
            X = ex.transform(obj, X) if st.kind == "descriptor" else self._encode(obj, X, dt)
        return X

    def _encode(self, module: Any, X: Any, dt: str) -> np.ndarray:
        import torch

        from .models import to_batch

        outs = []
        with torch.no_grad():
            if dt == "graph_nodes":
                return module(X).double().numpy()
            for i in range(0, len(X), 256):
                outs.append(module(to_batch(X, np.arange(i, min(len(X), i + 256)), dt)))  # shape kept (e.g. tokens)
        return torch.cat(outs).double().numpy()

    def _status(self, msg: str) -> Any:
        return self.console.status(msg) if self.show else nullcontext()

    # ------------------------------------------------------------------ params
    def _infer(self, kind: str, name: str, params: dict[str, Any], X: Any, dt: str, y: Any, bundle: Any = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """``params`` completed from the data: ``extra`` (a task's inferred values) first, then the
        runner's ``INFERRED_PARAMS``; only parameters the component takes and the spec left out."""
        if kind not in {"encoder", "descriptor"}:
            return dict(params)
        from ..api import parameters
        from ..plugins import catalog, import_target

        factory = import_target(catalog().resolve(kind, name))
        valid = parameters(factory)
        out = dict(params)
        out.update({k: v for k, v in (extra or {}).items() if k in valid and k not in params})
        need = [p for p in INFERRED_PARAMS if p in valid and p not in out]
        if not need:
            return out
        input_type = getattr(factory, "input_type", "vector")
        sample = X if dt == "graph_nodes" else X[0]
        if hasattr(sample, "x") and hasattr(sample, "edge_index"):
            last, flat, chans = int(sample.x.shape[-1]), int(sample.x.shape[-1]), None
        else:
            arr = np.asarray(sample)
            last = int(arr.shape[-1]) if arr.ndim else 1
            flat = int(np.prod(arr.shape)) if arr.ndim else 1
            chans = int(arr.shape[0]) if dt == "image" and arr.ndim == 3 else None
        task = bundle.task if bundle is not None else ("classification" if np.asarray(y).dtype.kind in "iu" else "regression")
        yarr = np.asarray(y)
        n_out = (bundle.meta.get("n_classes") if bundle is not None else None) or (int(yarr.max()) + 1 if task == "classification" else int(np.prod(yarr.shape[1:])) or 1)
        if task == "regression":
            n_out = int(np.prod(yarr.shape[1:])) if yarr.ndim > 1 else 1
        for p in need:
            if p == "in_features":
                out[p] = flat if input_type in ("vector", "features") else last
            elif p == "in_channels" and chans is not None:
                out[p] = chans
            elif p in ("num_classes", "out_features"):
                out[p] = int(n_out)
        return out

    # ------------------------------------------------------------------ models
    def _model(self, ctx: Any, label: str, mspec: Any, *args: Any) -> tuple[dict[str, Any], Any, list[dict[str, float]], dict[str, Any]]:
        """Train and evaluate one model. TorchScript's optimising executor is off meanwhile: after
        a few profiled calls it swaps scripted functions (geoopt's manifold maths) for graphs with
        their own autodiff formulas, so a second run in the same process would give different
        numbers; with it off, a seed gives the same result in any process, in any order."""
        import torch

        with torch.jit.optimized_execution(False):
            return self._model_impl(ctx, label, mspec, *args)

    def _model_impl(self, ctx: Any, label: str, mspec: Any, shared: list[Any], Xtr: Any, Xte: Any, dt: str, bundle: Any, split: dict[str, Any]) -> tuple[dict[str, Any], Any, list[dict[str, float]], dict[str, Any]]:
        spec = self.spec
        own, Xtr_m, Xte_m, dt_m = self._fit_steps(mspec.steps, Xtr, Xte, dt, split["y_train"]) if mspec.steps else ([], Xtr, Xte, dt)
        steps_all = shared + own
        names = spec.evaluate.metrics or list(ctx.task.default_metrics)
        data = {**split, "X_train": Xtr_m, "X_test": Xte_m, "data_type": dt_m}
        out = ctx.task.fit(ctx, label, mspec, data)
        model, history = out.model, list(out.history)
        res: dict[str, Any] = ctx.evaluate(names, out.y_true, out.predict(data["X_test"]))
        res.update(out.extra)
        if history:
            res["final_train_loss"] = round(history[-1]["train_loss"], 6)
            res["epochs"] = len(history)
        if spec.evaluate.perturbations:
            res["perturbations"] = {}
            for pname, pert in spec.evaluate.perturbations.items():
                Xp, yp = self._perturb(pert, split, bundle)
                Xp = self._apply_steps(steps_all, Xp)
                res["perturbations"][pname] = ctx.evaluate(names, yp, out.predict(Xp))
        self.log(f"model {label}: {res}")
        artifacts = getattr(model, "artifacts", None)
        if callable(artifacts):  # e.g. a sampler's histogram: kept next to the metrics
            from ..utils import atomic_write_text

            atomic_write_text(self.dir / "artifacts" / f"{label}.json", json.dumps(artifacts(), indent=2, default=_jsonable))
        if spec.plots and hasattr(model, "embed") and "y_test" in split and bundle.task == "classification":
            self._plot_embeddings(label, model, Xte_m, dt_m, split)
        return res, model, history, data

    def _measures(self, models: dict[str, Any], model_data: dict[str, dict[str, Any]], shared: dict[str, Any], split: dict[str, Any]) -> dict[str, Any]:
        """Run the spec's measures: on each trained model (measures that need one) or on the data."""
        from ..api import create

        out: dict[str, Any] = {}
        for i, ms in enumerate(self.spec.measures):
            key = ms.measure if ms.measure not in out else f"{ms.measure}_{i}"
            measure = create("measure", ms.measure, **ms.params)
            part = ms.part
            y = split.get(f"y_{part}")
            if getattr(measure, "needs_model", False) or ms.models is not None:
                labels = ms.models or list(models)
                out[key] = {}
                for label in labels:
                    d = model_data[label]
                    out[key][label] = _clean(measure(model=models[label], data={"X": d[f"X_{part}"], "y": y, "data_type": d["data_type"]}))
            else:
                out[key] = _clean(measure(data={"X": shared[f"X_{part}"], "y": y, "data_type": shared["data_type"]}))
            self.log(f"measure {key}: {out[key]}")
        return out

    def _perturb(self, pert: Any, split: dict[str, Any], bundle: Any) -> tuple[Any, np.ndarray]:
        import torch

        from ..api import create

        group = create("group", pert.group, **pert.params)
        itype = pert.input_type or bundle.data_type
        X, y = split["X_test"], split["y_test"]
        gen = torch.Generator().manual_seed(self.spec.seed + 12345)
        if bundle.data_type == "graph_nodes":
            g = group.sample(1, gen, dtype=torch.float32)
            return group.act(g[0], X, itype), y
        n = len(y)
        g = group.sample(n, gen, dtype=torch.float32)
        if isinstance(X, np.ndarray):
            Xp: Any = group.act(g, torch.from_numpy(np.ascontiguousarray(X)).float(), itype)
            Xp = Xp.numpy() if isinstance(Xp, torch.Tensor) else Xp
        else:
            Xp = []
            for i, x in enumerate(X):
                xi = torch.as_tensor(np.asarray(x), dtype=torch.float32) if isinstance(x, np.ndarray) else x
                out = group.act(g[i], xi, itype)
                Xp.append(out.numpy() if isinstance(out, torch.Tensor) and isinstance(x, np.ndarray) else out)
        if pert.targets == "equivariant":
            d = int(getattr(group, "n", 3))
            yt = torch.as_tensor(np.asarray(y), dtype=torch.float32).reshape(n, -1, d)
            y = group.act(g, yt, "point_cloud").reshape(n, -1).numpy()
        return Xp, y

    def _plot_embeddings(self, label: str, model: Any, X: Any, dt: str, split: dict[str, Any]) -> None:
        import torch

        from . import plots
        from .models import to_batch

        try:
            with torch.no_grad():
                if dt == "graph_nodes":
                    Z = model.embed(X)[torch.as_tensor(split["test_mask"])]
                else:
                    Z = model.embed(to_batch(X, np.arange(min(len(X), 512)), dt))
            Z = Z.detach().double().numpy().reshape(len(Z), -1)
            y = split["y_test"][: len(Z)]
            ball_c = None
            if getattr(model, "output_space", "") == "poincare_ball":
                c = getattr(model, "c", None)
                if c is None and getattr(model, "manifold", None) is not None:
                    c = getattr(model.manifold, "c", 1.0)
                ball_c = float(c if c is not None else 1.0)
            plots.embeddings(Z, y, self.dir / "plots" / f"embeddings_{label}.png", f"{label}: test embeddings", ball_c)
        except Exception as exc:  # a plot must never fail a run
            self.log(f"embedding plot for {label} skipped: {type(exc).__name__}: {exc}")
