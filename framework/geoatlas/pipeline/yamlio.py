"""Safe YAML loading that remembers the line of every key, and ``--set`` overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError

#: where each key path of a spec came from: its line in the file, or the ``--set`` that gave it
Lines = dict[tuple[Any, ...], "int | str"]


#: a spec is a small text file; anything larger is refused before it is parsed
MAX_SPEC_BYTES = 256_000
#: nodes a spec may expand to once aliases are followed (an alias bomb expands to billions)
MAX_NODES = 100_000
#: nesting depth of mappings and lists
MAX_DEPTH = 100

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present (fast)


class _UniqueKeyLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that refuses duplicate keys (a silent overwrite hides typos)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # YAML merge keys (`<<: *defaults`) are standard: merged keys come first and the mapping's
        # own keys override them; only a key written twice in the mapping itself is an error
        own = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if id(key_node) not in own:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise SpecError(f"line {key_node.start_mark.line + 1}: a key must be a plain value "
                                f"(a name or a number), not a {type(key).__name__}") from None
            if key in seen:
                raise SpecError(
                    f"line {key_node.start_mark.line + 1}: key {key!r} appears twice in the same "
                    f"mapping (first on line {seen[key]}); remove one of them."
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root: yaml.Node, source: str) -> None:
    """Refuse specs whose aliases expand past ``MAX_NODES`` nodes, alias cycles, and nesting
    deeper than ``MAX_DEPTH`` (each node is visited once: an alias bomb cannot hang this)."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    # iterative post-order walk over the node graph
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    distinct = 0
    while stack:
        node, depth, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            kids = _children(node)
            size[nid] = min(1 + sum(size[id(k)] for k in kids), MAX_NODES + 1)
            continue
        if nid in size:
            continue
        if nid in on_path:
            raise SpecError(f"{source}, line {node.start_mark.line + 1}: an alias refers to a node that contains it "
                            "(a recursive structure); a spec must be a finite tree")
        if depth > MAX_DEPTH:
            raise SpecError(f"{source}, line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep; "
                            "a spec is a shallow mapping")
        distinct += 1
        if distinct > MAX_NODES:
            break  # more distinct nodes than the budget: no need to count further
        on_path.add(nid)
        stack.append((node, depth, True))
        for k in _children(node):
            if id(k) not in size:
                stack.append((k, depth + 1, False))
    if distinct > MAX_NODES or size[id(root)] > MAX_NODES:
        raise SpecError(f"{source}: the spec holds more than {MAX_NODES} values, counting each repetition an "
                        "alias (*name) makes (an 'alias bomb' or data pasted into a spec); refused without expanding it")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for kv in node.value for x in kv]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _walk(root: yaml.Node, lines: Lines) -> None:
    """Line of every key path. Aliased nodes are walked once (their first path keeps the line)."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        kids: list[tuple[yaml.Node, tuple[Any, ...]]] = []
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else f"<{type(k).__name__}>"
                lines.setdefault(path + (key,), k.start_mark.line + 1)
                kids.append((v, path + (key,)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines.setdefault(path + (i,), item.start_mark.line + 1)
                kids.append((item, path + (i,)))
        stack.extend(reversed(kids))  # document order: an anchor's own path comes first


def _yaml_error(source: str, exc: BaseException) -> SpecError:
    return SpecError(f"{source}: not valid YAML: {_cap(str(exc))}")


def _cap(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + f" ... ({len(text) - limit} more characters not shown)"


def load_yaml(text: str, source: str = "<spec>") -> tuple[dict[str, Any], Lines]:
    """Parse YAML safely; returns the data and a map from key paths to line numbers.

    Tags such as ``!!python/object`` are refused: nothing in a spec can construct Python objects.
    """
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(f"{source}: {len(text)} characters is too large for a pipeline spec "
                        f"(the limit is {MAX_SPEC_BYTES}); a spec names data, it does not contain it")
    try:
        node = yaml.compose(text, Loader=_BaseLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(source, exc) from None
    except RecursionError:
        raise SpecError(f"{source}: nested too deeply to read (more than {MAX_DEPTH} levels); "
                        "a spec is a shallow mapping") from None
    lines: Lines = {}
    if node is not None:
        _expanded_size(node, source)
        _walk(node, lines)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise SpecError(f"{source}: nested too deeply to read; a spec is a shallow mapping") from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        raise SpecError(
            f"{source}, {where}: refused {_cap(str(exc.problem), 200)}. Specs are read with a safe loader: "
            "Python tags (!!python/...) and other custom tags are not allowed, and nothing was run. "
            "Name registered components instead (see `geoatlas list`)."
        ) from None
    except SpecError as exc:
        raise SpecError(f"{source}, {exc}") from None
    except yaml.YAMLError as exc:
        raise _yaml_error(source, exc) from None
    if data is None:
        raise SpecError(f"{source}: the spec is empty")
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a spec is a mapping of keys (name, data, models, ...), got {type(data).__name__}")
    return data, lines


def read_spec_source(path_or_text: str | Path) -> tuple[str, str, Path | None]:
    """Return ``(text, source label, base directory)`` for a path or YAML text."""
    if isinstance(path_or_text, Path) or (
        isinstance(path_or_text, str) and "\n" not in path_or_text and path_or_text.endswith((".yaml", ".yml"))
    ):
        p = Path(path_or_text)
        return read_spec_file(p), str(p), p.resolve().parent
    return str(path_or_text), "<spec>", None


def read_spec_file(p: Path) -> str:
    """The text of a spec file; a clear :class:`SpecError` for a missing path, a folder, a file too
    large to be a spec, or a file that is not UTF-8 text."""
    if not p.exists():
        raise SpecError(f"spec file {str(p)!r} does not exist")
    if p.is_dir():
        raise SpecError(f"{str(p)!r} is a folder, not a spec file; name a .yaml file in it")
    try:
        size = p.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(f"{str(p)!r} is {size} bytes, too large for a pipeline spec (the limit is {MAX_SPEC_BYTES}); "
                            "a spec names data, it does not contain it")
        raw = p.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read spec file {str(p)!r}: {exc.strerror or exc}") from None
    if b"\x00" in raw:
        raise SpecError(f"{str(p)!r} is not a text file (it contains NUL bytes); a spec is YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{str(p)!r} is not UTF-8 text (undecodable byte at offset {exc.start}); "
                        "a spec is YAML text saved as UTF-8") from None


def apply_overrides(data: dict[str, Any], overrides: list[str] | dict[str, Any] | None,
                    lines: Lines | None = None) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML scalars/flow collections).

    With ``lines``, each overridden key path (and what was under it) is marked as coming from
    its ``--set``, so a validation error names the override instead of a line of the file."""
    if not overrides:
        return data
    items = overrides.items() if isinstance(overrides, dict) else [_split(o) for o in overrides]
    for dotted, value in items:
        item = _cap(f"--set {dotted}={value}", 120)
        if lines is not None:
            path = tuple(int(p) if p.isdigit() else p for p in str(dotted).split("."))
            for key in [k for k in lines if k[: len(path)] == path]:
                del lines[key]
            lines[path] = f"`{item}`"
        if isinstance(value, str):
            try:
                value = yaml.load(value, Loader=_BaseLoader)  # noqa: S506 - a safe loader
            except (yaml.YAMLError, RecursionError) as exc:
                raise SpecError(f"{item}: the value is not valid YAML ({_cap(str(exc), 200)})") from None
        raw_parts = str(dotted).split(".")
        if not dotted or any(p.strip() == "" for p in raw_parts):
            raise SpecError(f"{item}: the key path {str(dotted)!r} has an empty part; write it like train.epochs")
        parts: list[Any] = [int(p) if p.isdigit() else p for p in raw_parts]
        cur: Any = data
        for i, part in enumerate(parts):
            here = ".".join(raw_parts[:i]) or "the spec"
            last = i == len(parts) - 1
            if isinstance(cur, list):
                if not isinstance(part, int):
                    raise SpecError(f"{item}: {here} is a list; the next key must be an index, not {part!r}")
                if part >= len(cur):
                    raise SpecError(f"{item}: index {part} is out of range ({here} has {len(cur)} item(s))")
            elif isinstance(cur, dict):
                if isinstance(part, int):
                    part = raw_parts[i]  # a mapping key that happens to be digits
            else:
                raise SpecError(f"{item}: {here} is a {type(cur).__name__} ({_short(cur)}), "
                                f"not a mapping or list, so it has no {raw_parts[i]!r}")
            if last:
                cur[part] = value
                break
            nxt = cur[part] if isinstance(cur, list) else cur.get(part)
            if nxt is None:
                nxt = [] if isinstance(parts[i + 1], int) else {}
                if isinstance(nxt, list):
                    raise SpecError(f"{item}: {'.'.join(raw_parts[: i + 1])} does not exist, so it has no "
                                    f"item {parts[i + 1]}")
                cur[part] = nxt
            cur = nxt
    return data


def _short(value: Any) -> str:
    r = repr(value)
    return r if len(r) <= 40 else r[:30] + "..."


def _split(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise SpecError(f"--set expects key=value (e.g. train.epochs=2), got {_cap(repr(item), 120)}")
    k, v = item.split("=", 1)
    return k.strip(), v
