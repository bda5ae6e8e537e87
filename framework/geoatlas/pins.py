"""Checks of dependency pins that matter at run time (``geoatlas doctor --pins``)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def check_pins() -> tuple[bool, list[str]]:
    """multipers 2.3.2 segfaults with gudhi >= 3.13: both must be in the known-good window."""
    from packaging.version import Version

    msgs: list[str] = []
    ok = True
    try:
        mp = version("multipers")
    except PackageNotFoundError:
        return True, ["[off] multipers not installed (extra 'tda'); pin check skipped"]
    try:
        gd = version("gudhi")
    except PackageNotFoundError:
        return False, ["[FAIL] multipers is installed but gudhi is not"]
    if Version(gd) >= Version("3.13"):
        ok = False
        msgs.append(f"[FAIL] gudhi {gd} with multipers {mp}: multipers 2.3.2 crashes with gudhi >= 3.13; pip install 'gudhi>=3.11,<3.13'")
    else:
        msgs.append(f"[ok] gudhi {gd} with multipers {mp}")
    return ok, msgs
