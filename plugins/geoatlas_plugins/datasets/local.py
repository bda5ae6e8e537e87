"""Loaders for user data at a local path (nothing downloads)."""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from geoatlas.interfaces import DATA_TYPES, DataBundle, Dataset


def _existing(path: str | Path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{what} {str(p)!r} does not exist")
    return p


@contextlib.contextmanager
def _reading(p: Path) -> Iterator[None]:
    """Errors from reading a user's file name the file (pickled object arrays are refused)."""
    try:
        yield
    except KeyError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise ValueError(f"{str(p)!r} holds pickled Python objects; geoatlas never unpickles data files "
                             "(that could run code). Save plain numeric arrays (np.save without objects)") from None
        raise ValueError(f"{str(p)!r} could not be read as numbers: {str(exc)[:200]}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{str(p)!r} could not be read (truncated or not the format its suffix says): "
                         f"{type(exc).__name__}: {str(exc)[:200]}") from None


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
        if p.is_dir():
            raise ValueError(f"path {str(p)!r} is a folder; name a .npz, .npy or .csv file")
        if p.suffix == ".npz":
            with _reading(p):
                with np.load(p, allow_pickle=False) as z:
                    for k in (self.X_key, self.y_key):
                        if k not in z:
                            raise KeyError(f"{p.name} has no array {k!r}; it has: {', '.join(z.files)}")
                    X, y = z[self.X_key], z[self.y_key]
        elif p.suffix == ".npy":
            if self.y_path is None:
                raise ValueError("a .npy X needs y_path pointing at the targets (.npy)")
            with _reading(p):
                X = np.load(p, allow_pickle=False)
            yp = _existing(self.y_path, "target file")
            with _reading(yp):
                y = np.load(yp, allow_pickle=False)
        elif p.suffix in {".csv", ".txt"}:
            with _reading(p):
                arr = np.loadtxt(p, delimiter=",", ndmin=2)
            if not -arr.shape[1] <= self.y_column < arr.shape[1] or arr.shape[1] < 2:
                raise ValueError(f"{p.name} has {arr.shape[1]} column(s); y_column={self.y_column} must name one of them "
                                 "and leave at least one feature column")
            y = arr[:, self.y_column]
            X = np.delete(arr, self.y_column % arr.shape[1], axis=1)
        else:
            raise ValueError(f"unsupported file type {p.suffix!r}: use .npz, .npy or .csv")
        for arr, what in ((X, "X"), (y, "y")):
            if arr.dtype.kind not in "biuf" or arr.ndim == 0:
                raise ValueError(f"{p.name}: {what} must be a numeric array with a sample axis, got dtype {arr.dtype} "
                                 f"and shape {arr.shape}")
        if len(X) == 0:
            raise ValueError(f"{p.name}: X has no samples")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        X = X.astype(np.float32)
        if not np.isfinite(X).all():
            raise ValueError(f"{p.name}: X contains NaN or Inf values")
        y = y.astype(np.int64) if self.task_ == "classification" else y.astype(np.float32)
        return DataBundle(X, y, self.data_type_, task=self.task_)


class PyGLocal(Dataset):
    """A torch-geometric ``TUDataset`` on disk under ``root/name/raw`` (never downloads).

    Only the ``raw/`` text files are read: they are copied into a private temporary folder and
    processed there. A ``processed/*.pt`` file in the user's folder is never opened, because
    torch-geometric reads those with ``pickle``, which can run code from whoever made the folder.
    """

    data_type = "graph"

    def __init__(self, root: str, name: str) -> None:
        if not isinstance(name, str) or not name or any(c in name for c in "/\\") or name in {".", ".."}:
            raise ValueError(f"name must be a dataset folder name (no path separators), got {name!r}")
        self.root, self.name = root, name

    def load(self) -> DataBundle:
        import shutil
        import tempfile

        root = _existing(self.root, "dataset root")
        raw = root / self.name / "raw"
        if not raw.is_dir():
            processed = root / self.name / "processed"
            hint = (f" (there is a {processed}, but geoatlas never unpickles processed/*.pt files from a "
                    "folder: they can run code; place the raw text files instead)") if processed.exists() else ""
            raise FileNotFoundError(
                f"no TUDataset {self.name!r} under {str(root)!r}: expected the raw text files in {raw}{hint}; "
                "geoatlas never downloads"
            )
        files = [f for f in sorted(raw.iterdir()) if f.is_file() and f.suffix == ".txt"]
        if not files:
            raise FileNotFoundError(f"{raw} holds no .txt files (TUDataset raw files such as {self.name}_A.txt)")
        from torch_geometric.datasets import TUDataset

        with tempfile.TemporaryDirectory(prefix="geoatlas-pyg-") as tmp:
            private = Path(tmp) / self.name / "raw"
            private.mkdir(parents=True)
            for f in files:
                shutil.copyfile(f, private / f.name)
            try:
                ds = TUDataset(tmp, self.name)  # processes the copied text files; reads only what it wrote
                graphs = [ds[i] for i in range(len(ds))]
            except Exception as exc:  # noqa: BLE001 - malformed raw files reach the user as one line
                raise ValueError(f"TUDataset files in {raw} could not be read: {type(exc).__name__}: "
                                 f"{str(exc)[:200]}") from None
        y = np.array([int(g.y.item()) for g in graphs], dtype=np.int64)
        return DataBundle(graphs, y, "graph")
