"""Validation of a pipeline spec before anything runs.

Errors name the YAML line, the offending key, the valid choices and a close match. Checks:
the schema (unknown keys, types, ranges), component names (registered, of the right kind),
component parameters (against the constructor signature and its type hints) and files named by
path-like parameters.
"""

from __future__ import annotations

import difflib
import inspect
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import GeoatlasError, SpecError
from ..validation import param_problems, short
from .spec import PipelineSpec
from .yamlio import Lines

#: parameters the runner fills from the data when a spec leaves them out
INFERRED_PARAMS = ("in_features", "in_channels", "num_classes", "out_features")
_PATH_NAMES = ("path", "root", "file", "checkpoint")


def _line(lines: Lines, loc: tuple[Any, ...]) -> int | str | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def _where(source: str, lines: Lines, loc: tuple[Any, ...]) -> str:
    line = _line(lines, loc)
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    if isinstance(line, str):  # the value came from a --set override
        return f"{line} ({dotted})"
    return f"{source}, line {line} ({dotted})" if line else f"{source} ({dotted})"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the mapping at ``loc`` (to list valid keys)."""
    model: Any = PipelineSpec
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            # inside a dict-valued field (models.<label>), keep the value model
            continue
        model = _inner_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(ann: Any) -> Any:
    for arg in typing.get_args(ann) or (ann,):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = _inner_model(arg) if typing.get_args(arg) else None
        if inner is not None:
            return inner
    return None


def _pydantic_problems(exc: ValidationError, source: str, lines: Lines) -> list[str]:
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and (p.startswith("function-") or p in {"literal", "str", "int", "float", "bool", "dict", "list", "none", "is-instance"} or "[" in p)))
        where = _where(source, lines, loc)
        if err["type"] == "extra_forbidden":
            key = loc[-1]
            owner = _model_at(loc[:-1])
            valid = list(owner.model_fields) if owner else []
            close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            out.append(f"{where}: unknown key {short(key)}.{hint} Valid keys here: {', '.join(valid)}.")
        elif err["type"] == "missing":
            out.append(f"{where}: required key {loc[-1]!r} is missing.")
        elif err["type"] == "literal_error":
            exp = err.get("ctx", {}).get("expected", "")
            got = err.get("input")
            choices = [c.strip().strip("'") for c in exp.replace(" or ", ",").split(",") if c.strip()]
            close = difflib.get_close_matches(str(got), choices, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            out.append(f"{where}: {short(got)} is not allowed.{hint} Valid choices: {exp}.")
        elif err["msg"].startswith("Keys should be strings") and isinstance(err.get("input"), bool):
            word = "on/yes/true" if err["input"] else "off/no/false"
            where = _where(source, lines, loc[:-1])
            out.append(f"{where}: a key was read as the boolean {err['input']}: YAML reads a bare {word} as a boolean. "
                       "Quote the key, or use the key the schema names (e.g. `part:` for a measure).")
        else:
            msg = err["msg"]
            got = err.get("input")
            shown = f" (got {short(got)})" if not isinstance(got, (dict, list)) else ""
            out.append(f"{where}: {msg}{shown}.")
    return out


def _type_hints(factory: Any) -> dict[str, Any]:
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        return {}


def check_component_params(
    kind: str, name: str, params: dict[str, Any], loc: tuple[Any, ...], source: str, lines: Lines,
    base_dir: Path | None, inferred: tuple[str, ...] = (),
) -> list[str]:
    """Problems with the parameters of one component (imports the component)."""
    from ..api import accepts_var_kwargs, parameters
    from ..plugins import catalog, import_target

    problems: list[str] = []
    cat = catalog()
    try:
        comp = cat.resolve(kind, name)
    except GeoatlasError as exc:
        return [f"{_where(source, lines, loc)}: {exc}"]
    try:
        factory = import_target(comp)
    except GeoatlasError as exc:
        return [f"{_where(source, lines, loc)}: {exc}"]
    valid = parameters(factory)
    hints = _type_hints(factory)
    ploc = loc[:-1] + ("params",)
    for key, value in params.items():
        if key not in valid:
            if accepts_var_kwargs(factory):
                continue
            close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            problems.append(
                f"{_where(source, lines, ploc + (key,))}: {comp.full_name} has no parameter {short(key)}.{hint} "
                f"Valid parameters: {', '.join(valid) or '(none)'}."
            )
            continue
        if _is_path_param(key) and isinstance(value, str):
            p = Path(value).expanduser()
            if not p.is_absolute() and base_dir is not None and not p.exists():
                p = base_dir / p
                if p.exists():
                    # `run` must find what `validate` found: pin the path to the spec's folder
                    params[key] = str(p)
            if not p.exists():
                problems.append(
                    f"{_where(source, lines, ploc + (key,))}: file or folder {short(value)} does not exist "
                    f"(relative paths are looked up from the working directory, then from the spec's folder)."
                )
    # annotated constraints (geoatlas.validation.Size ...) and the component's validate_params
    known = {k: v for k, v in params.items() if k in valid}
    try:
        bad = param_problems(factory, known)
    except Exception as exc:  # noqa: BLE001 - a broken validate_params hook is reported, not raised
        bad = {"(parameters)": f"validate_params failed: {type(exc).__name__}: {short(str(exc), 200)}"}
    for key, msg in bad.items():
        at = ploc + (key,) if key in params else ploc
        ann = valid.get(key, {}).get("annotation") or hints.get(key)
        problems.append(f"{_where(source, lines, at)}: parameter {key!r} of {comp.full_name} expects {_ann_name(ann) if ann is not None else 'other values'}; it {msg}.")
    missing = [k for k, v in valid.items() if v["required"] and k not in params and k not in inferred]
    if missing:
        problems.append(
            f"{_where(source, lines, loc)}: {comp.full_name} needs parameter(s) "
            f"{', '.join(repr(m) for m in missing)} under `params:`."
        )
    return problems


def _ann_name(ann: Any) -> str:
    if isinstance(ann, str):
        return ann  # as written in the signature (`list[Size] | None`)
    if typing.get_origin(ann) is typing.Annotated:
        ann = typing.get_args(ann)[0]
    return getattr(ann, "__name__", None) or str(ann).replace("typing.", "")


def _is_path_param(key: str) -> bool:
    return key in _PATH_NAMES or any(key.endswith("_" + n) for n in _PATH_NAMES)


def validate_data(data: dict[str, Any], lines: Lines, source: str = "<spec>", base_dir: Path | None = None) -> PipelineSpec:
    """Validate a parsed spec. Raises :class:`SpecError` listing every problem found.

    Top-level keys starting with ``x-`` are ignored: they hold YAML anchors that models reuse
    with merge keys (``x-base: &base {...}``, then ``<<: *base``), as in docker-compose files."""
    data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        problems = _pydantic_problems(exc, source, lines) + _raw_name_problems(data, source, lines)
        raise SpecError(_summary(problems), problems) from None
    problems: list[str] = []
    problems += check_component_params("dataset", spec.data.dataset, spec.data.params, ("data", "dataset"), source, lines, base_dir)

    def steps(items: list[Any], prefix: tuple[Any, ...]) -> None:
        for i, st in enumerate(items):
            problems.extend(
                check_component_params(st.kind, st.component, st.params, prefix + (i, st.kind), source, lines, base_dir, INFERRED_PARAMS)
            )

    steps(spec.steps, ("steps",))
    task = _resolve_task(spec)
    for label, m in spec.all_models().items():
        prefix: tuple[Any, ...] = ("models", label) if spec.models else ("model",)
        steps(m.steps, prefix + ("steps",))
        if m.encoder is not None:
            problems += check_component_params("encoder", m.encoder, m.params, prefix + ("encoder",), source, lines, base_dir, INFERRED_PARAMS + task.inferred)
        else:
            problems += _classifier_params(m.classifier or m.clusterer, m.params, prefix, source, lines, clusterer=m.clusterer is not None)  # type: ignore[arg-type]
    for pname, pert in spec.evaluate.perturbations.items():
        problems += check_component_params("group", pert.group, pert.params, ("evaluate", "perturbations", pname, "group"), source, lines, base_dir)
    problems += _task_problems(spec, task, source, lines, base_dir)
    for i, ms in enumerate(spec.measures):
        problems += check_component_params("measure", ms.measure, ms.params, ("measures", i, "measure"), source, lines, base_dir)
        unknown = [m for m in (ms.models or []) if m not in spec.all_models()]
        if unknown:
            problems.append(f"{_where(source, lines, ('measures', i, 'models'))}: no model called {', '.join(map(repr, unknown))}; "
                            f"the models are: {', '.join(spec.all_models())}.")
    if problems:
        raise SpecError(_summary(problems), problems)
    return spec


def _dataset_declares(spec: PipelineSpec) -> tuple[str | None, str | None]:
    """The data type and task a dataset declares (class attributes, or its own parameters)."""
    from ..plugins import catalog, import_target

    try:
        cls = import_target(catalog().resolve("dataset", spec.data.dataset))
    except GeoatlasError:
        return None, None
    dt = spec.data.params.get("data_type", getattr(cls, "data_type", None))
    task = spec.data.params.get("task", getattr(cls, "task", None))
    return (dt if isinstance(dt, str) else None), (task if isinstance(task, str) else None)


@dataclass
class _TaskRef:
    """The spec's task, resolved once for every check that needs it."""

    data_type: str | None  # what the dataset declares
    dataset_task: str | None
    name: str  # as the spec (or the dataset) names it
    info: Any = None  # ComponentInfo, None when it does not resolve
    cls: Any = None
    error: GeoatlasError | None = None

    @property
    def inferred(self) -> tuple[str, ...]:
        """Encoder parameters the task fills in from the data."""
        return tuple(getattr(self.cls, "inferred", ()))


def _resolve_task(spec: PipelineSpec) -> _TaskRef:
    from ..plugins import catalog, import_target

    data_type, ds_task = _dataset_declares(spec)
    ref = _TaskRef(data_type, ds_task, spec.task.name if spec.task is not None else (ds_task or "classification"))
    try:
        ref.info = catalog().resolve("task", ref.name)
        ref.cls = import_target(ref.info)
    except GeoatlasError as exc:
        ref.info, ref.error = None, exc
    return ref


def _task_problems(spec: PipelineSpec, task: _TaskRef, source: str, lines: Lines, base_dir: Path | None) -> list[str]:
    """The task exists, fits the dataset and the models; metrics, losses and pre-training fit the task."""
    from ..plugins import catalog, import_target

    problems: list[str] = []
    data_type, ds_task = task.data_type, task.dataset_task
    if spec.task is not None:
        loc: tuple[Any, ...] = ("task",) if ("task", "name") not in lines else ("task", "name")
        problems += check_component_params("task", spec.task.name, spec.task.params, loc, source, lines, base_dir)
    else:
        loc = ("data", "dataset")
    cat = catalog()
    if task.error is not None:
        if spec.task is not None:
            return problems  # the unknown task is already reported
        return [f"{_where(source, lines, loc)}: dataset {spec.data.dataset!r} declares task {task.name!r}: {task.error}"]
    task_cls = task.cls
    task_name = task.info.name  # metrics name tasks by their bare names
    if data_type is not None:
        why = task_cls.incompatibility(data_type, ds_task)
        if why is not None:
            problems.append(f"{_where(source, lines, loc)}: task {task_name!r} cannot run on dataset {spec.data.dataset!r}: {why}.")
    kinds = getattr(task_cls, "model_kinds", ("encoder", "classifier"))
    for label, m in spec.all_models().items():
        prefix: tuple[Any, ...] = ("models", label) if spec.models else ("model",)
        if m.kind not in kinds:
            problems.append(f"{_where(source, lines, prefix + (m.kind,))}: task {task_name!r} takes models of kind "
                            f"{' or '.join(kinds)}, not a {m.kind}.")
        if m.loss is not None:
            problems += check_component_params("loss", m.loss.name, m.loss.params, prefix + ("loss", "name"), source, lines, base_dir)
    for i, name in enumerate(spec.evaluate.metrics):
        try:
            metric_cls = import_target(cat.resolve("metric", name))
        except GeoatlasError as exc:
            problems.append(f"{_where(source, lines, ('evaluate', 'metrics', i))}: {exc}")
            continue
        applies = getattr(metric_cls, "applies_to", None)
        if applies is not None and not applies(task_name):
            fitting = sorted(c.name for c in cat.components.values() if c.kind == "metric" and _applies(c, task_name))
            problems.append(f"{_where(source, lines, ('evaluate', 'metrics', i))}: metric {name!r} does not apply to task "
                            f"{task_name!r} (it is for {', '.join(metric_cls.tasks)}). Metrics for {task_name}: {', '.join(fitting) or '(none)'}.")
    if spec.evaluate.perturbations and not getattr(task_cls, "perturbable", False):
        problems.append(f"{_where(source, lines, ('evaluate', 'perturbations'))}: task {task_name!r} does not take "
                        "`perturbations:` (test samples moved by a group apply to classification and regression).")
    wants_pretrain = getattr(task_cls, "pretrain", "never")
    if spec.pretrain is not None:
        if wants_pretrain == "never":
            problems.append(f"{_where(source, lines, ('pretrain',))}: task {task_name!r} has no pre-training stage; "
                            "`pretrain:` belongs to the representation task.")
        else:
            problems += check_component_params("loss", spec.pretrain.loss.name, spec.pretrain.loss.params, ("pretrain", "loss", "name"), source, lines, base_dir)
            g = spec.pretrain.views.group
            if g is not None:
                problems += check_component_params("group", g.name, g.params, ("pretrain", "views", "group", "name"), source, lines, base_dir)
    elif wants_pretrain == "required":
        problems.append(f"{_where(source, lines, loc)}: task {task_name!r} needs a `pretrain:` section (the loss and views to pre-train with).")
    return problems


def _applies(comp: Any, task: str) -> bool:
    from ..plugins import import_target

    try:
        return bool(import_target(comp).applies_to(task))
    except Exception:
        return False


def _raw_name_problems(data: dict[str, Any], source: str, lines: Lines) -> list[str]:
    """Unknown component names in a spec that failed schema validation (names only)."""
    from ..plugins import catalog

    refs: list[tuple[str, Any, tuple[Any, ...]]] = []
    d = data.get("data")
    if isinstance(d, dict):
        refs.append(("dataset", d.get("dataset"), ("data", "dataset")))

    def steps(items: Any, prefix: tuple[Any, ...]) -> None:
        for i, st in enumerate(items if isinstance(items, list) else []):
            if isinstance(st, dict):
                for kind in ("descriptor", "encoder"):
                    if kind in st:
                        refs.append((kind, st[kind], prefix + (i, kind)))

    steps(data.get("steps"), ("steps",))
    models = data.get("models")
    entries = list(models.items()) if isinstance(models, dict) else []
    if isinstance(data.get("model"), dict):
        entries.append((None, data["model"]))
    for label, m in entries:
        if isinstance(m, dict):
            prefix = ("models", label) if label is not None else ("model",)
            if "encoder" in m:
                refs.append(("encoder", m["encoder"], prefix + ("encoder",)))
            steps(m.get("steps"), prefix + ("steps",))
    ev = data.get("evaluate")
    perts = ev.get("perturbations") if isinstance(ev, dict) else None
    for pname, pert in (perts.items() if isinstance(perts, dict) else []):
        if isinstance(pert, dict) and "group" in pert:
            refs.append(("group", pert["group"], ("evaluate", "perturbations", pname, "group")))
    out = []
    cat = catalog()
    for kind, name, loc in refs:
        if isinstance(name, str):
            try:
                cat.resolve(kind, name)
            except GeoatlasError as exc:
                out.append(f"{_where(source, lines, loc)}: {exc}")
    return out


def _classifier_params(name: str, params: dict[str, Any], prefix: tuple[Any, ...], source: str, lines: Lines, clusterer: bool = False) -> list[str]:
    from .models import classifier_factory, clusterer_factory

    valid = list(inspect.signature((clusterer_factory if clusterer else classifier_factory)(name)).parameters)
    out = []
    for key in params:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            out.append(f"{_where(source, lines, prefix + ('params', key))}: {name} has no parameter {short(key)}.{hint}")
    return out


#: problems listed in an error message (all stay in ``SpecError.problems``)
MAX_LISTED = 50


def _summary(problems: list[str]) -> str:
    head = "the pipeline spec is invalid; nothing was run" if len(problems) == 1 else f"the pipeline spec has {len(problems)} problems; nothing was run"
    listed = [p if len(p) <= 1000 else p[:1000] + " ..." for p in problems[:MAX_LISTED]]
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return head + ":\n  - " + "\n  - ".join(listed) + more
