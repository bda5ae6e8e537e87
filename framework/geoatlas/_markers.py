"""pluggy markers (kept in a tiny module so plugins can import them cheaply)."""

import pluggy

PROJECT = "geoatlas"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
