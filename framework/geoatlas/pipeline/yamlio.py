"""Safe YAML loading that remembers the line of every key, and ``--set`` overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError

Lines = dict[tuple[Any, ...], int]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (a silent overwrite hides typos)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise SpecError(
                    f"line {key_node.start_mark.line + 1}: key {key!r} appears twice in the same "
                    f"mapping (first on line {seen[key]}); remove one of them."
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _walk(node: yaml.Node, path: tuple[Any, ...], lines: Lines) -> None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            lines[path + (key,)] = k.start_mark.line + 1
            _walk(v, path + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _walk(item, path + (i,), lines)


def load_yaml(text: str, source: str = "<spec>") -> tuple[dict[str, Any], Lines]:
    """Parse YAML safely; returns the data and a map from key paths to line numbers.

    Tags such as ``!!python/object`` are refused: nothing in a spec can construct Python objects.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: not valid YAML: {exc}") from None
    lines: Lines = {}
    if node is not None:
        _walk(node, (), lines)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        raise SpecError(
            f"{source}, {where}: refused {exc.problem}. Specs are read with a safe loader: "
            "Python tags (!!python/...) and other custom tags are not allowed, and nothing was run. "
            "Name registered components instead (see `geoatlas list`)."
        ) from None
    except SpecError as exc:
        raise SpecError(f"{source}, {exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: not valid YAML: {exc}") from None
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
        if not p.exists():
            raise SpecError(f"spec file {str(p)!r} does not exist")
        return p.read_text(encoding="utf-8"), str(p), p.resolve().parent
    return str(path_or_text), "<spec>", None


def apply_overrides(data: dict[str, Any], overrides: list[str] | dict[str, Any] | None) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML scalars/flow collections)."""
    if not overrides:
        return data
    items = overrides.items() if isinstance(overrides, dict) else [_split(o) for o in overrides]
    for dotted, value in items:
        if isinstance(value, str):
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise SpecError(f"--set {dotted}={value}: value is not valid YAML ({exc})") from None
        parts = [int(p) if p.isdigit() else p for p in dotted.split(".")]
        cur: Any = data
        for i, part in enumerate(parts[:-1]):
            nxt = cur[part] if isinstance(cur, list) else cur.get(part)
            if nxt is None:
                if isinstance(cur, list):
                    raise SpecError(f"--set {dotted}: index {part} is out of range")
                nxt = [] if isinstance(parts[i + 1], int) else {}
                cur[part] = nxt
            cur = nxt
        last = parts[-1]
        if isinstance(cur, list):
            if not isinstance(last, int) or last >= len(cur):
                raise SpecError(f"--set {dotted}: index {last} is out of range")
        cur[last] = value
    return data


def _split(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise SpecError(f"--set expects key=value (e.g. train.epochs=2), got {item!r}")
    k, v = item.split("=", 1)
    return k.strip(), v
