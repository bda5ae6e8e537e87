"""Loaders for user data at a local path (nothing downloads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geoatlas.interfaces import DATA_TYPES, DataBundle, Dataset


def _existing(path: str | Path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{what} {str(p)!r} does not exist")
    return p


class LocalArrays(Dataset):
    """Arrays from ``.npz`` (keys ``X_key``/``y_key``), a pair of ``.npy`` files, or a CSV.

    For CSV the last column is the target unless ``y_column`` says otherwise.
    """

    def __init__(
        self,
        path: str,
        data_type: str = "vector",
        task: str = "classification",
        X_key: str = "X",
        y_key: str = "y",
        y_path: str | None = None,
        y_column: int = -1,
    ) -> None:
        if data_type not in DATA_TYPES:
            raise ValueError(f"data_type must be one of {', '.join(DATA_TYPES)}, got {data_type!r}")
        if task not in {"classification", "regression"}:
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        self.path, self.data_type_, self.task_ = path, data_type, task
        self.X_key, self.y_key, self.y_path, self.y_column = X_key, y_key, y_path, y_column

    def load(self) -> DataBundle:
        p = _existing(self.path, "data file")
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                for k in (self.X_key, self.y_key):
                    if k not in z:
                        raise KeyError(f"{p.name} has no array {k!r}; it has: {', '.join(z.files)}")
                X, y = z[self.X_key], z[self.y_key]
        elif p.suffix == ".npy":
            X = np.load(p, allow_pickle=False)
            if self.y_path is None:
                raise ValueError("a .npy X needs y_path pointing at the targets (.npy)")
            y = np.load(_existing(self.y_path, "target file"), allow_pickle=False)
        elif p.suffix in {".csv", ".txt"}:
            arr = np.loadtxt(p, delimiter=",", ndmin=2)
            y = arr[:, self.y_column]
            X = np.delete(arr, self.y_column % arr.shape[1], axis=1)
        else:
            raise ValueError(f"unsupported file type {p.suffix!r}: use .npz, .npy or .csv")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        X = X.astype(np.float32)
        if not np.isfinite(X).all():
            raise ValueError(f"{p.name}: X contains NaN or Inf values")
        y = y.astype(np.int64) if self.task_ == "classification" else y.astype(np.float32)
        return DataBundle(X, y, self.data_type_, task=self.task_)


class PyGLocal(Dataset):
    """A torch-geometric ``TUDataset`` already on disk under ``root`` (never downloads)."""

    data_type = "graph"

    def __init__(self, root: str, name: str) -> None:
        self.root, self.name = root, name

    def load(self) -> DataBundle:
        root = _existing(self.root, "dataset root")
        raw = root / self.name / "raw"
        processed = root / self.name / "processed"
        if not raw.exists() and not processed.exists():
            raise FileNotFoundError(
                f"no TUDataset {self.name!r} under {str(root)!r} (expected {raw} or {processed}); "
                "geoatlas never downloads: place the files there first"
            )
        from torch_geometric.datasets import TUDataset

        ds = TUDataset(str(root), self.name)
        graphs = [ds[i] for i in range(len(ds))]
        y = np.array([int(g.y.item()) for g in graphs], dtype=np.int64)
        return DataBundle(graphs, y, "graph")
