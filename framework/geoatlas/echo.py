"""Paper echo: each plugin's claims (manifest) beside what its reproduction measured.

A plugin's ``reproduce.py`` records one result per claim id and writes ``results.json`` next to
itself::

    from geoatlas.echo import Reproduction

    rep = Reproduction(__file__, scale="500 training systems, 4 CPU minutes", seeds=[0, 1])
    rep.record("nbody_mse", ours=0.0121, holds=False, note="paper trains 10 000 epochs")
    rep.write()

``geoatlas echo`` gathers the manifests' claims and the ``results.json`` files into one table
(claim · paper · ours · holds? · scale), and ``geoatlas docs`` publishes it as a page. Nothing in
the table is typed by hand: a claim without a measured result shows "not run", and a claim the
plugin cannot echo here shows its stated reason.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import GeoatlasError

RESULTS_FILE = "results.json"


def _manifest_for_folder(folder: Path) -> Any:
    from .plugins import catalog

    cat = catalog()
    for st in cat.statuses.values():
        if st.manifest is None:
            continue
        from .layout import plugin_dir

        d = plugin_dir(st.id)
        if d is not None and d == folder.resolve():
            return st.manifest
    raise GeoatlasError(f"{folder} is not the folder of a loaded geoatlas plugin")


class Reproduction:
    """Collects the measured value of each claim and writes ``results.json`` beside the script."""

    def __init__(self, script: str | Path, *, scale: str, seeds: list[int] | None = None) -> None:
        self.folder = Path(script).resolve().parent
        self.manifest = _manifest_for_folder(self.folder)
        self.claims = {c.id: c for c in self.manifest.claims}
        self.scale, self.seeds = scale, list(seeds or [])
        self.results: dict[str, dict[str, Any]] = {}
        self.t0 = time.perf_counter()

    def record(self, claim_id: str, *, ours: Any, holds: bool | None, note: str = "", value: float | None = None) -> None:
        """Record our result for ``claim_id``: ``ours`` as shown (a number or short text),
        ``holds`` whether the paper's claim holds here (``None``: cannot tell), ``value`` a number
        to compare across runs (defaults to ``ours`` when it is a number)."""
        if claim_id not in self.claims:
            raise GeoatlasError(
                f"{self.manifest.id}: unknown claim id {claim_id!r}; the manifest's claims are: "
                f"{', '.join(self.claims) or '(none)'}"
            )
        if value is None and isinstance(ours, (int, float)) and not isinstance(ours, bool):
            value = float(ours)
        if value is not None and not math.isfinite(value):
            raise GeoatlasError(f"{self.manifest.id}: claim {claim_id!r} measured a non-finite value {value}")
        self.results[claim_id] = {
            "ours": ours if not isinstance(ours, float) else float(f"{ours:.6g}"),
            "value": value,
            "holds": holds,
            "note": note,
        }

    def write(self) -> Path:
        from .utils import atomic_write_text

        missing = [c for c, cl in self.claims.items() if cl.not_echoed is None and c not in self.results]
        doc = {
            "plugin": self.manifest.id,
            "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - self.t0, 1),
            "command": " ".join(["python", *sys.argv]) if sys.argv and sys.argv[0] else "",
            "scale": self.scale,
            "seeds": self.seeds,
            "claims": self.results,
        }
        path = self.folder / RESULTS_FILE
        atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=False) + "\n")
        if missing:
            sys.stderr.write(f"warning: {self.manifest.id}: no result recorded for claim(s) {', '.join(missing)}\n")
        return path


@dataclass
class EchoRow:
    plugin: str
    claim_id: str
    claim: str
    paper: str
    where: str
    metric: str
    ours: str
    holds: str  # "yes" | "no" | "?" | "not run" | "not echoed"
    scale: str
    note: str


def load_results(plugin_id: str) -> dict[str, Any] | None:
    from .layout import plugin_dir

    d = plugin_dir(plugin_id)
    if d is None or not (d / RESULTS_FILE).exists():
        return None
    try:
        return json.loads((d / RESULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GeoatlasError(f"{d / RESULTS_FILE}: not readable JSON ({exc})") from exc


def echo_rows(plugins: list[str] | None = None) -> list[EchoRow]:
    """One row per claim of every loaded plugin (or of ``plugins``)."""
    from .plugins import catalog

    rows: list[EchoRow] = []
    for st in sorted(catalog().statuses.values(), key=lambda s: s.id):
        if st.manifest is None or (plugins and st.id not in plugins):
            continue
        res = load_results(st.id) if st.manifest.claims else None
        got = (res or {}).get("claims", {})
        scale = (res or {}).get("scale", "")
        for c in st.manifest.claims:
            r = got.get(c.id)
            if c.not_echoed is not None:
                ours, holds, note = "—", "not echoed", c.not_echoed
            elif r is None:
                ours, holds, note = "—", "not run", "run `make reproduce PLUGIN=" + st.id + "`"
            else:
                ours = str(r.get("ours"))
                holds = {True: "yes", False: "no", None: "?"}[r.get("holds")]
                note = r.get("note", "")
            rows.append(EchoRow(st.id, c.id, c.claim, c.paper, c.where, c.metric, ours, holds, scale if r else "", note))
    return rows


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def echo_markdown(rows: list[EchoRow]) -> str:
    held = sum(r.holds == "yes" for r in rows)
    tested = sum(r.holds in ("yes", "no", "?") for r in rows)
    out = [
        "# Paper echo",
        "",
        "Every checkable claim that a plugin's manifest lists, beside what its scaled-down "
        "`reproduce.py` measured on this project's CPU machines (`make reproduce PLUGIN=<id>` "
        "rewrites a plugin's `results.json`; `geoatlas echo` prints this table). Generated; nothing "
        "here is typed by hand.",
        "",
        f"{len(rows)} claims; {tested} measured here, {held} of them hold.",
        "",
        "| plugin | claim | paper | ours | holds? | scale | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r.plugin} | {_md(r.claim)} ({r.metric}) | {_md(r.paper)} ({_md(r.where)}) | {_md(r.ours)} | "
            f"{r.holds} | {_md(r.scale)} | {_md(r.note)} |"
        )
    return "\n".join(out) + "\n"
