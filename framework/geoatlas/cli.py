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


def _console() -> Any:
    from rich.console import Console

    return Console(width=min(Console().width, 100))


def _plugin_table(rows: list[Any]) -> None:
    from rich.table import Table

    from .catalogue import KIND_ABBREV

    table = Table(box=None, pad_edge=False, header_style="bold", expand=True)
    table.add_column("plugin", no_wrap=True, overflow="ellipsis", style="cyan", ratio=5, max_width=26)
    table.add_column("paper", overflow="ellipsis", no_wrap=True, ratio=6)
    table.add_column("year", no_wrap=True, width=4)
    table.add_column("kinds", overflow="fold", ratio=3)
    table.add_column("tasks / inputs", overflow="fold", ratio=5)
    table.add_column("st", no_wrap=True, width=2)
    for r in rows:
        what = ", ".join(r.tasks) + (" / " if r.tasks and r.inputs else "") + ", ".join(r.inputs)
        table.add_row(r.id, r.title, str(r.year or ""), " ".join(KIND_ABBREV.get(k, k) for k in r.kinds),
                      what, {"stable": "S", "experimental": "x"}.get(r.status, "?") if r.state == "loaded" else "FAIL")
    con = _console()
    con.print(table)
    con.print(f"[dim]{len(rows)} plugin(s); st: S stable, x experimental. `geoatlas info ID` for the paper and "
              "parameters, `geoatlas list --components` for components.[/dim]")


def cmd_list(args: argparse.Namespace) -> int:
    from .api import list_components
    from .catalogue import filter_rows, plugin_rows

    if args.components:
        comps = list_components(args.kind, args.pattern)
        if args.task or args.input:
            keep = {r.id for r in filter_rows(plugin_rows(), task=args.task, input_type=args.input)}
            comps = [c for c in comps if c.plugin in keep]
        if args.json:
            print(json.dumps([{"kind": c.kind, "name": c.name, "plugin": c.plugin, "summary": c.summary} for c in comps], indent=2))
            return 0
        from rich.table import Table

        table = Table(box=None, pad_edge=False, header_style="bold", expand=True)
        table.add_column("kind", no_wrap=True, width=10)
        table.add_column("name", no_wrap=True, overflow="ellipsis", style="cyan", ratio=3)
        table.add_column("plugin", no_wrap=True, overflow="ellipsis", ratio=3)
        table.add_column("summary", overflow="ellipsis", no_wrap=True, ratio=4)
        for c in comps:
            table.add_row(c.kind, c.name, c.plugin, c.summary)
        _console().print(table)
        print(f"{len(comps)} component{'s' if len(comps) != 1 else ''}")
        if not args.kind and not args.pattern:
            from .pipeline.spec import CLASSIFIERS, CLUSTERERS

            print(f"scikit-learn estimators usable in specs (`geoatlas info NAME`): classifier: {', '.join(CLASSIFIERS)}; "
                  f"clusterer: {', '.join(CLUSTERERS)}")
        return 0
    rows = filter_rows(plugin_rows(), kind=args.kind, task=args.task, input_type=args.input, pattern=args.pattern)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return 0
    if not rows:
        asked = ", ".join(f"{k}={v!r}" for k, v in (("pattern", args.pattern), ("kind", args.kind), ("task", args.task),
                                                     ("input", args.input)) if v)
        _print_error(f"no plugin matches {asked}. Tasks and input types in use: see `geoatlas list` (columns "
                     "'tasks / inputs'); `geoatlas search WORDS` searches titles and summaries.")
        return 1
    _plugin_table(rows)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .catalogue import filter_rows, no_match_hint, plugin_rows, search

    rows = filter_rows(plugin_rows(), kind=args.kind, task=args.task, input_type=args.input)
    query = " ".join(args.words)
    hits = search(query, rows)
    if args.json:
        print(json.dumps([{"score": s, **r.as_dict()} for s, r in hits], indent=2))
        return 0
    if not hits:
        _print_error(no_match_hint(query, rows))
        return 1
    _plugin_table([r for _, r in hits])
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .api import info

    data = info(args.name, with_params=not args.no_params)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    doc = data.pop("doc", "")
    params = data.pop("params", None)
    comp_params = data.pop("component_params", None)
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
    def show(ps: dict[str, Any], indent: str) -> None:
        for pname, p in ps.items():
            default = "(required)" if p["required"] else f"= {p.get('default')!r}"
            ann = f": {p['annotation']}" if "annotation" in p else ""
            print(f"{indent}{pname}{ann} {default}")

    if params is not None:
        print("parameters:")
        show(params, "  ")
    if comp_params:
        print("components and their parameters (`geoatlas info PLUGIN/NAME` shows one in full):")
        for comp, ps in comp_params.items():
            print(f"  {comp}{'' if ps else ' (no parameters)'}")
            show(ps, "      ")
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


def cmd_load(args: argparse.Namespace) -> int:
    from .pipeline import RunResult

    res = RunResult.open(args.run_dir)
    model = res.load_model(args.label)
    n = sum(p.numel() for p in model.parameters())
    print(f"{args.label}: {type(model).__name__} with {n:,} parameters, weights from {res.run_dir / 'checkpoints'}")
    row = res.metrics.get("models", {}).get(args.label, {})
    if row:
        print("metrics: " + ", ".join(f"{k}={v}" for k, v in row.items() if not isinstance(v, dict)))
    print(f"in Python: ga.RunResult.open({str(res.run_dir)!r}).load_model({args.label!r})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .pipeline.compare import compare_runs

    table, cols = compare_runs([Path(d) for d in args.run_dirs])
    if args.csv:
        import csv

        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=["run", "model", *cols])
            w.writeheader()
            w.writerows(table)
        print(f"wrote {args.csv}")
    from rich.table import Table

    t = Table(box=None, header_style="bold", pad_edge=False)
    t.add_column("run", no_wrap=True)
    t.add_column("model", no_wrap=True, style="cyan")
    for c in cols:
        t.add_column(c, overflow="fold")
    for row in table:
        t.add_row(*[("" if row.get(c) is None else (f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c])))
                    for c in ["run", "model", *cols]])
    _console().print(t)
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    from .cite import bibtex_for

    print(bibtex_for(args.name), end="")
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
    import platform

    from . import __version__
    from .api import doctor

    healthy, lines = doctor(import_components=args.imports)
    print(f"geoatlas {__version__}, Python {platform.python_version()} on {platform.platform(terse=True)}")
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
    if args.gallery:
        from .gallery import build_gallery

        root = Path(args.docs_dir).resolve().parent
        written += build_gallery(Path(args.docs_dir), sorted((root / "examples" / "pipelines").glob("*.yaml")), root)
    elif not (Path(args.docs_dir) / "gallery" / "index.md").exists():
        (Path(args.docs_dir) / "gallery").mkdir(parents=True, exist_ok=True)
        (Path(args.docs_dir) / "gallery" / "index.md").write_text(
            "# Gallery\n\nNot built: `geoatlas docs --gallery` runs every example pipeline and writes one page each.\n",
            encoding="utf-8")
    print(f"generated {len(written)} docs pages under {args.docs_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    ap = argparse.ArgumentParser(prog="geoatlas", description="Geometric deep learning methods as plugins.")
    ap.add_argument("--version", action="version", version=f"geoatlas {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    from .registry import KINDS

    p = sub.add_parser("list", help="list plugins (one row each), or components with --components")
    p.add_argument("pattern", nargs="?", help="glob on plugin ids and component names, e.g. 'poincare*'")
    p.add_argument("--components", action="store_true", help="one row per component instead of per plugin")
    p.add_argument("--kind", choices=list(KINDS), help="only plugins/components of this kind")
    p.add_argument("--task", help="only plugins serving this task (e.g. classification, forecasting)")
    p.add_argument("--input", help="only plugins taking this input type (e.g. point_cloud, graph, spd)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_list)

    p = sub.add_parser("search", help="keyword search over plugins: ids, papers, summaries, symmetries, components")
    p.add_argument("words", nargs="+", help="e.g. rotation, 'hyperbolic resnet', persistence")
    p.add_argument("--kind", choices=list(KINDS))
    p.add_argument("--task")
    p.add_argument("--input")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_search)

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

    p = sub.add_parser("load", help="rebuild a trained model from a run directory's checkpoint")
    p.add_argument("run_dir")
    p.add_argument("label", help="the model's label in the spec")
    p.set_defaults(fn=cmd_load)

    p = sub.add_parser("compare", help="put the metrics of several run directories side by side")
    p.add_argument("run_dirs", nargs="+")
    p.add_argument("--csv", help="also write the table as CSV")
    p.set_defaults(fn=cmd_compare)

    p = sub.add_parser("cite", help="BibTeX for a plugin's paper(s), or for geoatlas itself (`geoatlas cite geoatlas`)")
    p.add_argument("name", help="plugin id, component name, or 'geoatlas'")
    p.set_defaults(fn=cmd_cite)

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
    p.add_argument("--pins", action=argparse.BooleanOptionalAction, default=True,
                   help="check pinned dependency versions (default; --no-pins skips it)")
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
    p.add_argument("--gallery", action="store_true", help="also run every example pipeline and write the gallery pages")
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
            if getattr(args, "spec", None) and getattr(args, "command", None) == "run":
                import shlex

                again = ["geoatlas", "run", args.spec, *sum((["--set", s] for s in args.set or []), []), "--resume"]
                if getattr(args, "run_dir", None):
                    again += ["--run-dir", args.run_dir]
                _print_error(f"interrupted; `{shlex.join(again)}` continues from the last checkpoint")
            else:
                _print_error("interrupted")
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
