"""Executors run per-sample descriptor steps and the models of a spec.

``local`` uses joblib on this machine and trains the models one after the other in this process;
``ray`` runs descriptor steps as Ray tasks over blocks of samples and trains the models in
parallel as Ray tasks (a Ray cluster at ``address`` / ``$RAY_ADDRESS``, or a local Ray instance).
Both give the same results for the same seed: blocks are concatenated in order, and every model
starts from the same random state (the one after the shared steps) whichever runs first.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np


def _transform_chunk(descriptor: Any, chunk: Any) -> Any:
    import torch

    torch.set_num_threads(1)  # one BLAS thread per worker: workers already use the cores
    return descriptor.transform(chunk)


def _ray_transform_chunk(descriptor: Any, chunk: Any) -> Any:
    import copy

    # Ray hands numpy arrays over read-only (zero-copy); the local executor's are writable
    return _transform_chunk(descriptor, copy.deepcopy(chunk))


def _concat(parts: list[Any]) -> Any:
    import torch

    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts)
    if isinstance(parts[0], list):
        return [x for p in parts for x in p]
    return np.concatenate([np.asarray(p) for p in parts])


class LocalExecutor:
    """Parallel over samples with joblib for ``per_sample`` descriptors.

    Descriptors may set ``parallel_backend = "threads"`` when their heavy work releases the GIL
    (C++ extensions such as gudhi); the default is processes (loky).
    """

    def __init__(self, workers: int = 1) -> None:
        self.workers = (os.cpu_count() or 1) if workers == -1 else workers

    def transform(self, descriptor: Any, X: Any) -> Any:
        n = len(X)
        if self.workers <= 1 or not getattr(descriptor, "per_sample", False) or n < 2 * self.workers:
            return descriptor.transform(X)
        from joblib import Parallel, delayed

        n_chunks = min(n, self.workers * 4)
        bounds = np.linspace(0, n, n_chunks + 1).astype(int)
        chunks = [X[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
        prefer = "threads" if getattr(descriptor, "parallel_backend", "processes") == "threads" else "processes"
        parts = Parallel(n_jobs=self.workers, prefer=prefer)(delayed(_transform_chunk)(descriptor, c) for c in chunks)
        return _concat(parts)


    def train_models(self, run: Any, ctx: Any, models: dict[str, Any], args: tuple[Any, ...],
                     on_start: Callable[[str], None]) -> Iterator[tuple[str, tuple[Any, ...], float]]:
        """Train the models one after the other in this process; yields ``(label, result, seconds)``
        in spec order (``result`` as ``_Run._model`` returns it)."""
        rng = rng_state()
        for label, mspec in models.items():
            set_rng_state(rng)
            on_start(label)
            t0 = time.perf_counter()
            out = run._model(ctx, label, mspec, *args)
            yield label, out, round(time.perf_counter() - t0, 3)


# ---------------------------------------------------------------------- random state
def rng_state() -> tuple[Any, Any, Any]:
    """Python, numpy and torch (CPU) global random states, as :func:`set_rng_state` takes them."""
    import random

    import torch

    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def set_rng_state(state: tuple[Any, Any, Any]) -> None:
    import random

    import torch

    random.setstate(state[0])
    np.random.set_state(state[1])
    torch.set_rng_state(state[2])


# ---------------------------------------------------------------------- ray
RAY_EXTRA_HINT = "pip install 'geoatlas[ray]'"


def import_ray() -> Any:
    try:
        import ray
    except ImportError:  # pragma: no cover - validation catches this first
        from ..errors import GeoatlasError

        raise GeoatlasError(f"executor kind 'ray' needs Ray, which is not installed: {RAY_EXTRA_HINT}") from None
    return ray


def ensure_ray(address: str | None = None, workers: int = -1) -> Any:
    """Connect to the Ray cluster at ``address`` (else ``$RAY_ADDRESS``), or start a local Ray
    instance with ``workers`` CPUs (-1: all cores) when neither is given. Reuses a connection this
    process already has."""
    ray = import_ray()
    if not ray.is_initialized():
        kw: dict[str, Any] = {"address": address, "include_dashboard": False}
        if address is None and not os.environ.get("RAY_ADDRESS"):
            kw["num_cpus"] = (os.cpu_count() or 1) if workers == -1 else workers
        ray.init(**kw)
    return ray


def cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _sees(probe: tuple[str, str]) -> bool:
    """Whether this (worker) process sees the driver's directory: the probe file the driver wrote
    there holds the driver's token. False on a node without a shared filesystem."""
    try:
        return Path(probe[0]).read_text(encoding="utf-8") == probe[1]
    except OSError:
        return False


def run_in_dir(target: str, probe: tuple[str, str], files_in: dict[str, bytes], fn: Callable[..., Any], *args: Any) -> tuple[Any, dict[str, bytes] | None]:
    """Call ``fn(directory, *args)`` on a worker. When the worker sees ``target`` (shared
    filesystem, or a local Ray instance) ``fn`` writes there directly and ``None`` comes back;
    otherwise it works in a scratch copy holding ``files_in`` (checkpoints to resume from) and
    the files it wrote come back as ``{relative path: bytes}`` for :func:`write_back`."""
    if _sees(probe):
        return fn(Path(target), *args), None
    import tempfile

    with tempfile.TemporaryDirectory(prefix="geoatlas-") as tmp:
        d = Path(tmp) / "run"
        for rel, data in files_in.items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_bytes(data)
        out = fn(d, *args)
        files = {}
        for p in sorted(d.rglob("*")):
            rel = p.relative_to(d).as_posix()
            if p.is_file() and files_in.get(rel) != (data := p.read_bytes()):
                files[rel] = data
        return out, files


def write_back(target: Path, files: dict[str, bytes] | None) -> None:
    """Write the files a worker made in its scratch copy into ``target`` (atomically, each)."""
    import tempfile

    for rel, data in (files or {}).items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)


class Probe:
    """A token file in ``directory`` that workers read to learn whether they share its filesystem."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / f".geoatlas-probe-{uuid.uuid4().hex}"
        self.token = uuid.uuid4().hex

    def __enter__(self) -> tuple[str, str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.token, encoding="utf-8")
        return str(self.path.resolve()), self.token

    def __exit__(self, *exc: Any) -> None:
        self.path.unlink(missing_ok=True)


def _train_one(d: Path, common: tuple[Any, ...], label: str, mspec: Any, resume: bool) -> tuple[Any, ...]:
    """Worker side of :meth:`RayExecutor.train_models`: one model, as the local executor trains it."""
    import copy

    import torch

    from .context import TaskContext
    from .runner import _Run

    # Ray hands numpy arrays over read-only (zero-copy); the local executor's are writable
    spec, task, task_name, bundle, args, rng = copy.deepcopy(common)
    torch.set_num_threads(spec.executor.threads or 1)
    (d / "checkpoints").mkdir(parents=True, exist_ok=True)
    run = _Run(spec, None, d, resume, False)
    lines: list[str] = []
    run.log = lambda msg: lines.append(f"{_now()} {msg}")  # type: ignore[method-assign]
    ctx = TaskContext(run, task, task_name, bundle)
    set_rng_state(rng)
    t0 = time.perf_counter()
    try:
        res, model, hist, mdata = run._model(ctx, label, mspec, *args)
    except Exception as exc:
        return ("error", exc, lines)
    own = {k: mdata[k] for k in ("X_train", "X_test", "data_type")} if mspec.steps else None
    return ("ok", (res, model, hist, own), round(time.perf_counter() - t0, 3), lines)


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


_REMOTE: dict[str, Any] = {}


def _remote(ray: Any, name: str) -> Any:
    """The Ray remote functions, made once per process (Ray pickles them by value)."""
    if name not in _REMOTE:
        _REMOTE["transform"] = ray.remote(_ray_transform_chunk)
        _REMOTE["in_dir"] = ray.remote(run_in_dir)
    return _REMOTE[name]


class RayExecutor:
    """Per-sample descriptor steps as Ray tasks over blocks of samples; models as parallel Ray tasks.

    ``workers``: CPUs of the local Ray instance this starts (-1: all cores), or on a cluster the
    CPUs to plan descriptor blocks for (-1: the cluster's). ``block_size``: samples per task
    (default: about four blocks per CPU, so a slow block does not hold up the step).
    """

    kind = "ray"

    def __init__(self, workers: int = -1, address: str | None = None, block_size: int | None = None, threads: int | None = None) -> None:
        self.ray = ensure_ray(address, workers)
        self.workers = cluster_cpus(self.ray) if workers == -1 else workers
        self.block_size, self.threads = block_size, threads

    def blocks(self, n: int) -> list[tuple[int, int]]:
        size = self.block_size or max(1, -(-n // (4 * self.workers)))
        return [(a, min(n, a + size)) for a in range(0, n, size)]

    def transform(self, descriptor: Any, X: Any) -> Any:
        n = len(X)
        if not getattr(descriptor, "per_sample", False) or n < 2:
            return descriptor.transform(X)
        ray = self.ray
        dref = ray.put(descriptor)  # shipped once, not once per block
        fn = _remote(ray, "transform")
        parts = ray.get([fn.remote(dref, X[a:b]) for a, b in self.blocks(n)])
        return _concat(parts)

    def train_models(self, run: Any, ctx: Any, models: dict[str, Any], args: tuple[Any, ...],
                     on_start: Callable[[str], None]) -> Iterator[tuple[str, tuple[Any, ...], float]]:
        """All models at once as Ray tasks (``threads`` CPUs each, default 1), each from the random
        state the local executor gives it; yields ``(label, result, seconds)`` in spec order.
        Checkpoints, artifacts and plots land in the run directory as with the local executor
        (written there directly when the workers share its filesystem, else copied back); the
        log lines of each model follow in spec order."""
        ray = self.ray
        common = ray.put((run.spec, ctx.task, ctx.task_name, ctx.bundle, args, rng_state()))
        fn = _remote(ray, "in_dir").options(num_cpus=self.threads or 1)
        with Probe(run.dir / "checkpoints") as probe:
            refs = {}
            for label, mspec in models.items():
                files_in = _checkpoint_files(run.dir, label) if run.resume else {}
                refs[label] = fn.remote(str(run.dir), probe, files_in, _train_one, common, label, mspec, run.resume)
            try:
                for label in models:
                    on_start(label)  # hooks and error attribution in the local order
                    out, files = ray.get(refs.pop(label))
                    write_back(run.dir, files)
                    with open(run.dir / "log.txt", "a", encoding="utf-8") as fh:
                        fh.writelines(line + "\n" for line in out[-1])
                    if out[0] == "error":
                        raise out[1]
                    res, model, hist, own = out[1]
                    split = args[-1]
                    mdata = {**split, "X_train": args[1], "X_test": args[2], "data_type": args[3]} if own is None else {**split, **own}
                    yield label, (res, model, hist, mdata), out[2]
            finally:
                for ref in refs.values():
                    ray.cancel(ref)


def _checkpoint_files(run_dir: Path, label: str) -> dict[str, bytes]:
    out = {}
    for p in (run_dir / "checkpoints").glob(f"{label}.*"):
        if p.is_file() and p.name in (f"{label}.pt", f"{label}.done.json"):
            out[f"checkpoints/{p.name}"] = p.read_bytes()
    return out


def make_executor(spec: Any, workers: int | None = None) -> LocalExecutor | RayExecutor:
    """The executor an ``ExecutorSpec`` names (``make_executor("local", 2)`` still works)."""
    if isinstance(spec, str):
        kind, spec = spec, None
    else:
        kind, workers = spec.kind, spec.workers
    if kind == "local":
        return LocalExecutor(workers if workers is not None else 1)
    if kind == "ray":
        if spec is None:
            return RayExecutor(workers if workers is not None else -1)
        return RayExecutor(spec.workers, spec.address, spec.block_size, spec.threads)
    raise ValueError(f"executor kind must be 'local' or 'ray', got {kind!r}")
