"""The ``geoatlas`` command.

``list``, ``info`` and ``doctor`` never import torch unless asked to; errors in specs and
plugins are printed as one readable paragraph (no traceback) with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_USER_ERROR = 2


#: an error message repeats at most this much of what the user gave (lines and in total)
_MAX_LINE, _MAX_MESSAGE = 1000, 20000


def _print_error(msg: str) -> None:
    lines = [ln if len(ln) <= _MAX_LINE else ln[:_MAX_LINE] + f" ... ({len(ln) - _MAX_LINE} more characters)"
             for ln in msg.rstrip().splitlines()]
    text = "\n".join(lines)
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + f"\n... ({len(text) - _MAX_MESSAGE} more characters not shown)"
    sys.stderr.write(f"error: {text}\n")


def cmd_list(args: argparse.Namespace) -> int:
    from .api import list_components

    comps = list_components(args.kind, args.pattern)
    if args.json:
        print(json.dumps([{"kind": c.kind, "name": c.name, "plugin": c.plugin, "summary": c.summary} for c in comps], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False, box=None, pad_edge=False)
    for col in ("kind", "name", "plugin", "summary"):
        table.add_column(col, overflow="fold")
    for c in comps:
        table.add_row(c.kind, c.name, c.plugin, c.summary)
    Console(width=max(100, Console().width)).print(table)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .api import info

    data = info(args.name, with_params=not args.no_params)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    doc = data.pop("doc", "")
    params = data.pop("params", None)
    for key, value in data.items():
        if value in (None, [], {}, ""):
            continue
        if key == "papers":
            for p in value:
                arx = f", arXiv:{p['arxiv']}" if p.get("arxiv") else ""
                print(f"paper: {p['title']} — {', '.join(p['authors'])} ({p.get('venue') or ''} {p['year']}{arx})")
        elif key == "components":
            for kind, table in value.items():
                print(f"{kind}s: {', '.join(table)}")
        elif isinstance(value, list):
            print(f"{key}:")
            for v in value:
                print(f"  - {v}")
        else:
            print(f"{key}: {value}")
    if params is not None:
        print("parameters:")
        for name, p in params.items():
            default = "(required)" if p["required"] else f"= {p.get('default')!r}"
            ann = f": {p['annotation']}" if "annotation" in p else ""
            print(f"  {name}{ann} {default}")
    if doc:
        print()
        print(doc)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .pipeline import Pipeline

    p = Pipeline.from_yaml(Path(args.spec), overrides=args.set)
    spec = p.validate()
    print(f"{args.spec}: valid ({len(spec.all_models())} model(s), {len(spec.steps)} shared step(s))")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .pipeline import Pipeline

    p = Pipeline.from_yaml(Path(args.spec), overrides=args.set)
    result = p.run(run_dir=args.run_dir, resume=args.resume, runs_root=args.runs_root, progress=not args.quiet)
    _print_metrics(result.metrics)
    print(f"run directory: {result.run_dir}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .pipeline.sweep import print_table, sweep

    res = sweep(Path(args.spec), args.grid, args.seeds, executor=args.executor, out=args.out, overrides=args.set,
                address=args.address, workers=args.workers, metric=args.metric, progress=not args.quiet)
    print_table(res)
    print(f"{len(res.runs)} runs: {len(res.ran) - len(res.failed)} ran, {len(res.runs) - len(res.ran)} finished earlier, "
          f"{len(res.failed)} failed")
    for r in res.failed:
        print(f"  failed: {r.run_dir}: {r.error.splitlines()[0] if r.error else ''}")
    print(f"tables: {res.out / 'results.csv'} (per setting), {res.out / 'runs.csv'} (per run); plot: {res.out / 'main_metric.png'}")
    return 1 if res.failed else 0


def _print_metrics(metrics: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    models = metrics["models"]
    cols: list[str] = []
    for res in models.values():
        for k, v in res.items():
            if k not in cols and not isinstance(v, (dict, list)):
                cols.append(k)
    table = Table(title=f"{metrics['name']} ({metrics['data']['dataset']}, test n={metrics['data']['n_test']})")
    table.add_column("model")
    for c in cols:
        table.add_column(c, justify="right")
    for label, res in models.items():
        table.add_row(label, *[_fmt(res.get(c)) for c in cols])
        for pname, pres in res.get("perturbations", {}).items():
            table.add_row(f"  under {pname}", *[_fmt(pres.get(c)) for c in cols])
    Console().print(table)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def cmd_schema(args: argparse.Namespace) -> int:
    from .pipeline.schema import pipeline_json_schema

    text = json.dumps(pipeline_json_schema(), indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .api import doctor

    healthy, lines = doctor(import_components=args.imports)
    for line in lines:
        print(line)
    if args.pins:
        from .pins import check_pins

        ok, msgs = check_pins()
        for m in msgs:
            print(m)
        healthy = healthy and ok
    print("healthy" if healthy else "problems found (see [FAIL] lines)")
    return 0 if healthy else 1


def cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import new_builtin_plugin, new_plugin

    if args.builtin:
        import geoatlas_plugins

        collection = Path(args.directory) if args.directory != "." else Path(list(geoatlas_plugins.__path__)[0])
        path = new_builtin_plugin(args.name, collection)
        print(f"created {path}")
        print(f"next: pytest {path} && python {path / 'reproduce.py'}  (no other file needs an edit)")
        return 0
    path = new_plugin(args.name, Path(args.directory))
    print(f"created {path}")
    print(f"next: pip install -e {path} && pytest {path}")
    return 0


def cmd_registry(args: argparse.Namespace) -> int:
    from .registry_sync import check_registry, write_registry

    if args.write:
        write_registry(Path(args.path))
        print(f"wrote {args.path}")
        return 0
    ok, msgs = check_registry(Path(args.path))
    for m in msgs:
        print(m)
    return 0 if ok else 1


def cmd_echo(args: argparse.Namespace) -> int:
    from .echo import echo_markdown, echo_rows

    rows = echo_rows(args.plugins or None)
    if args.markdown:
        print(echo_markdown(rows), end="")
        return 0
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="paper echo: the paper's claims beside our scaled-down reproductions", show_lines=True)
    for col in ("plugin", "claim", "paper", "ours", "holds?", "scale"):
        table.add_column(col, overflow="fold")
    style = {"yes": "green", "no": "red", "?": "yellow"}
    for r in rows:
        table.add_row(r.plugin, f"{r.claim} [dim]({r.metric})[/dim]", f"{r.paper} [dim]({r.where})[/dim]", r.ours,
                      f"[{style.get(r.holds, 'dim')}]{r.holds}[/]", r.scale)
    Console().print(table)
    held = sum(r.holds == "yes" for r in rows)
    print(f"{len(rows)} claims, {sum(r.holds in ('yes', 'no', '?') for r in rows)} measured, {held} hold")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from .docsgen import generate

    written = generate(Path(args.docs_dir))
    print(f"generated {len(written)} docs pages under {args.docs_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    ap = argparse.ArgumentParser(prog="geoatlas", description="Geometric deep learning methods as plugins.")
    ap.add_argument("--version", action="version", version=f"geoatlas {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list registered components")
    from .registry import KINDS

    p.add_argument("--kind", choices=list(KINDS))
    p.add_argument("pattern", nargs="?", help="glob on the (full) name, e.g. 'poincare*'")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_list)

    p = sub.add_parser("info", help="describe a plugin or component (paper, parameters)")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-params", action="store_true", help="do not import the component")
    p.set_defaults(fn=cmd_info)

    for name, fn, hlp in (("validate", cmd_validate, "validate a pipeline spec"), ("run", cmd_run, "run a pipeline spec")):
        p = sub.add_parser(name, help=hlp)
        p.add_argument("spec")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value (repeatable)")
        if name == "run":
            p.add_argument("--resume", action="store_true", help="continue the newest run of this pipeline")
            p.add_argument("--run-dir", default=None, help="run directory (default runs/<name>/<timestamp>)")
            p.add_argument("--runs-root", default="runs")
            p.add_argument("--quiet", action="store_true", help="no progress output")
        p.set_defaults(fn=fn)

    p = sub.add_parser("sweep", help="run a spec over a grid of settings and seeds; one results table")
    p.add_argument("spec")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2", help="values of one spec key (repeatable; the grid is every combination)")
    p.add_argument("--seeds", default=None, help="seeds, e.g. 0-4 or 0,3,7 (default: the spec's seed)")
    p.add_argument("--executor", choices=["local", "ray"], default="local", help="run the runs in turn here (local) or in parallel on Ray")
    p.add_argument("--address", default=None, help="ray: the cluster (default: $RAY_ADDRESS, else a local Ray instance)")
    p.add_argument("--workers", type=int, default=-1, help="ray: CPUs of the local Ray instance it starts (-1: all cores)")
    p.add_argument("--out", default=None, help="sweep directory (default sweeps/<name>); rerunning there skips finished runs")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value for every run (repeatable)")
    p.add_argument("--metric", default=None, help="main metric for the plot, e.g. accuracy or mlp.accuracy")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(fn=cmd_sweep)

    p = sub.add_parser("schema", help="JSON Schema of pipeline specs (for editors)")
    p.add_argument("-o", "--output")
    p.set_defaults(fn=cmd_schema)

    p = sub.add_parser("doctor", help="check plugins (load status, collisions, pins)")
    p.add_argument("--imports", action="store_true", help="also import every component")
    p.add_argument("--pins", action="store_true", help="check pinned dependency versions")
    p.set_defaults(fn=cmd_doctor)

    p = sub.add_parser("new", help="scaffold things")
    newsub = p.add_subparsers(dest="what", required=True)
    q = newsub.add_parser("plugin", help="scaffold an installable third-party plugin package")
    q.add_argument("name", help="plugin id, snake_case")
    q.add_argument("--directory", default=".", help="where to write it (with --builtin: the plugin collection folder)")
    q.add_argument("--builtin", action="store_true", help="a built-in plugin folder in plugins/geoatlas_plugins/ instead of a package")
    q.set_defaults(fn=cmd_new)

    p = sub.add_parser("registry", help="check (default) or regenerate registry.yaml")
    p.add_argument("--path", default="registry.yaml")
    p.add_argument("--write", action="store_true")
    p.set_defaults(fn=cmd_registry)

    p = sub.add_parser("echo", help="the paper-echo table: each plugin's claims beside our reproductions")
    p.add_argument("plugins", nargs="*", help="plugin ids (default: all)")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_echo)

    p = sub.add_parser("docs", help="generate the per-plugin docs pages and the YAML reference")
    p.add_argument("--docs-dir", default="docs")
    p.set_defaults(fn=cmd_docs)
    return ap


def _debug() -> bool:
    import os

    return os.environ.get("GEOATLAS_DEBUG", "") not in {"", "0"}


def main(argv: list[str] | None = None) -> int:
    import warnings

    from .errors import GeoatlasError

    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            rc = args.fn(args)
        except GeoatlasError as exc:
            if _debug():
                raise
            _print_error(str(exc))
            rc = EXIT_USER_ERROR
        except (TypeError, ValueError, OSError, KeyError, IndexError, AttributeError, LookupError) as exc:
            # bad parameters and bad input reach the user as one paragraph, not a traceback
            if _debug():
                raise
            _print_error(f"{type(exc).__name__}: {exc}")
            rc = EXIT_USER_ERROR
        except KeyboardInterrupt:
            _print_error("interrupted; `geoatlas run SPEC --resume` continues from the last checkpoint")
            rc = 130
        except RecursionError:
            if _debug():
                raise
            _print_error("the input is nested too deeply to process (RecursionError)")
            rc = EXIT_USER_ERROR
        except MemoryError:
            if _debug():
                raise
            _print_error("out of memory; the sizes asked for are too large for this machine")
            rc = EXIT_USER_ERROR
        except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
            if _debug():
                raise
            _print_error(f"{type(exc).__name__}: {exc}\n(an unexpected error; rerun with GEOATLAS_DEBUG=1 "
                         "for the traceback, and report it if the input was valid)")
            rc = 1
    shown = set()
    for w in caught:
        msg = str(w.message)
        if "geoatlas plugin" in msg and args.command != "doctor" and msg not in shown:
            shown.add(msg)
            sys.stderr.write(f"warning: {msg}\n")
    return rc


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
