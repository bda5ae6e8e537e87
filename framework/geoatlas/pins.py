"""Checks of dependency pins that matter at run time (``geoatlas doctor --pins``)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def check_pins() -> tuple[bool, list[str]]:
    """multipers 2.3.2 needs gudhi 3.11: with 3.13 it segfaults, with 3.12 its degree-Rips
    bifiltrations fail ("'SimplexTree' object has no attribute 'thisptr'")."""
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
    if not (Version("3.11") <= Version(gd) < Version("3.12")):
        ok = False
        msgs.append(f"[FAIL] gudhi {gd} with multipers {mp}: multipers 2.3.2 needs gudhi 3.11 (3.12 breaks degree-Rips, 3.13 segfaults); pip install 'gudhi==3.11.0'")
    else:
        msgs.append(f"[ok] gudhi {gd} with multipers {mp}")
    return ok, msgs
