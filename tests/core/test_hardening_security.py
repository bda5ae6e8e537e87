"""Issue 21, class 1: nothing a spec points at may execute code.

Every file a spec can name is loaded without unpickling; a crafted file that *would* run code
when unpickled (it creates a marker file) must be refused with a one-line error naming it, and
the marker must not appear.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.errors import GeoatlasError

ROOT = Path(__file__).resolve().parents[2]


class _Payload:
    """Unpickling this creates ``marker`` (stands in for arbitrary code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (open, (str(self.marker), "w"))


def _evil_pickle(path: Path, marker: Path) -> None:
    with open(path, "wb") as f:
        pickle.dump({"model": _Payload(marker)}, f)


def _evil_torch(path: Path, marker: Path) -> None:
    torch.save({"model": _Payload(marker), "history": [], "epoch": 0}, path)


def _tu_raw(folder: Path, name: str) -> None:
    """A two-graph TUDataset in the raw text format (edges 1-based)."""
    raw = folder / name / "raw"
    raw.mkdir(parents=True)
    (raw / f"{name}_A.txt").write_text("1, 2\n2, 1\n2, 3\n3, 2\n4, 5\n5, 4\n")
    (raw / f"{name}_graph_indicator.txt").write_text("1\n1\n1\n2\n2\n")
    (raw / f"{name}_graph_labels.txt").write_text("0\n1\n")


# ---------------------------------------------------------------------------- pyg_local
def test_pyg_local_reads_raw_and_never_opens_processed(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    _tu_raw(tmp_path, "TOY")
    processed = tmp_path / "TOY" / "processed"
    processed.mkdir()
    for f in ("data.pt", "pre_transform.pt", "pre_filter.pt"):
        _evil_torch(processed / f, marker)
    bundle = ga.create("dataset", "pyg_local", root=str(tmp_path), name="TOY").load()
    assert not marker.exists(), "a processed/*.pt from the user's folder was unpickled"
    assert len(bundle) == 2 and list(bundle.y) == [0, 1]
    assert [g.num_nodes for g in bundle.X] == [3, 2]
    # nothing was written into the user's folder either
    assert sorted(p.name for p in processed.iterdir()) == ["data.pt", "pre_filter.pt", "pre_transform.pt"]


def test_pyg_local_refuses_processed_only_folder(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    processed = tmp_path / "TOY" / "processed"
    processed.mkdir(parents=True)
    _evil_torch(processed / "data.pt", marker)
    with pytest.raises(FileNotFoundError, match=r"never unpickles processed/\*\.pt"):
        ga.create("dataset", "pyg_local", root=str(tmp_path), name="TOY").load()
    assert not marker.exists()


@pytest.mark.parametrize("name", ["../TOY", "a/b", "", ".."])
def test_pyg_local_name_cannot_escape_root(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="name must be a dataset folder name"):
        ga.create("dataset", "pyg_local", root=str(tmp_path), name=name)


def test_pyg_local_malformed_raw_is_one_clear_error(tmp_path: Path) -> None:
    _tu_raw(tmp_path, "TOY")
    (tmp_path / "TOY" / "raw" / "TOY_A.txt").write_text("this is, not numbers\n")
    with pytest.raises(ValueError, match=r"TUDataset files in .*TOY.*raw could not be read"):
        ga.create("dataset", "pyg_local", root=str(tmp_path), name="TOY").load()


# ---------------------------------------------------------------------------- local_arrays
def test_local_arrays_refuses_pickled_object_arrays(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    X = np.empty(3, dtype=object)
    X[:] = [_Payload(marker), 1, 2]
    np.save(tmp_path / "X.npy", X, allow_pickle=True)
    np.save(tmp_path / "y.npy", np.arange(3))
    ds = ga.create("dataset", "local_arrays", path=str(tmp_path / "X.npy"), y_path=str(tmp_path / "y.npy"))
    with pytest.raises(ValueError, match=r"X\.npy.*pickled Python objects; geoatlas never unpickles"):
        ds.load()
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(3))
    with pytest.raises(ValueError, match=r"d\.npz.*pickled Python objects"):
        ga.create("dataset", "local_arrays", path=str(tmp_path / "d.npz")).load()
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", os.urandom(300)])
def test_local_arrays_truncated_or_garbage_files_name_the_file(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "broken.npz"
    p.write_bytes(content)
    with pytest.raises(ValueError, match=r"broken\.npz"):
        ga.create("dataset", "local_arrays", path=str(p)).load()


def test_local_arrays_truncated_npz_member(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    np.savez(good, X=np.ones((50, 3)), y=np.arange(50))
    data = good.read_bytes()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.npz"):
        ga.create("dataset", "local_arrays", path=str(bad)).load()
    with zipfile.ZipFile(good) as z:
        assert sorted(z.namelist()) == ["X.npy", "y.npy"]  # control: the intact file is fine
    assert len(ga.create("dataset", "local_arrays", path=str(good)).load()) == 50


@pytest.mark.parametrize("X", [np.array(["a", "b"]), np.array(3.0), np.zeros((0, 2))])
def test_local_arrays_non_numeric_scalar_or_empty(tmp_path: Path, X: np.ndarray) -> None:
    p = tmp_path / "d.npz"
    np.savez(p, X=X, y=np.zeros(len(X) if X.ndim else 1))
    with pytest.raises(ValueError, match=r"d\.npz: X"):
        ga.create("dataset", "local_arrays", path=str(p)).load()


# ---------------------------------------------------------------------------- checkpoints
def _trainer(tmp_path: Path, ckpt: Path):
    from geoatlas.pipeline.models import Trainer
    from geoatlas.pipeline.spec import TrainSpec

    model = torch.nn.Linear(3, 2)
    return Trainer(model, TrainSpec(epochs=1), "classification", "vector", seed=0, checkpoint=ckpt,
                   log=lambda m: None)


CRAFTED = {
    "evil_pickle": lambda p, m: _evil_pickle(p, m),
    "evil_torch": lambda p, m: _evil_torch(p, m),
    "truncated": lambda p, m: p.write_bytes(b"\x80\x02}q\x00(X"),
    "random": lambda p, m: p.write_bytes(os.urandom(1000)),
    "empty": lambda p, m: p.write_bytes(b""),
    "wrong_dict": lambda p, m: torch.save({"weights": torch.ones(2)}, p),
    "wrong_shapes": lambda p, m: torch.save({"model": {"weight": torch.ones(5, 5)}, "history": [], "epoch": 0}, p),
    "folder": lambda p, m: p.mkdir(),
}


@pytest.mark.parametrize("kind", list(CRAFTED))
def test_resume_from_crafted_checkpoint_is_one_line_naming_the_file(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "PWNED"
    ckpt = tmp_path / "model.ckpt"
    CRAFTED[kind](ckpt, marker)
    trainer = _trainer(tmp_path, ckpt)
    with pytest.raises(GeoatlasError) as info:
        trainer.resume()
    msg = str(info.value)
    assert str(ckpt) in msg and "\n" not in msg and "cannot be resumed from" in msg
    assert not marker.exists()


def test_resume_from_own_checkpoint_still_works(tmp_path: Path) -> None:
    """Control: a real checkpoint resumes (the refusals above are not blanket refusals)."""
    ckpt = tmp_path / "model.ckpt"
    model = torch.nn.Linear(3, 2)
    torch.save({"model": model.state_dict(), "history": [{"loss": 1.0}], "epoch": 3}, ckpt)
    trainer = _trainer(tmp_path, ckpt)
    trainer.opt = None
    assert trainer.resume() and trainer.start_epoch == 4


# ---------------------------------------------------------------------------- audit
LOADERS = re.compile(r"torch\.load\(|pickle\.loads?\(|joblib\.load\(|np\.load\(|numpy\.load\(|read_pickle\(|dill\.load")


def test_every_loader_in_the_tree_refuses_pickles() -> None:
    """Audit: every call that reads a file in the framework and the plugins (tests aside) either
    forbids pickles (``weights_only=True`` / ``allow_pickle=False``) or reads bytes it made itself
    (listed here with the reason)."""
    own_bytes = {("framework/geoatlas/testing/checks.py", "pickle.loads(pickle.dumps(d))")}
    bad = []
    for path in list((ROOT / "framework").rglob("*.py")) + list((ROOT / "plugins").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if "/tests/" in rel:
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not LOADERS.search(line) or line.lstrip().startswith("#"):
                continue
            if any(rel == f and snippet in line for f, snippet in own_bytes):
                continue
            if "weights_only=True" in line or "allow_pickle=False" in line:
                continue
            bad.append(f"{rel}:{i}: {line.strip()}")
    assert not bad, "loaders that may unpickle a file a spec names:\n" + "\n".join(bad)
