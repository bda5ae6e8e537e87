"""Built-in geoatlas plugins: one sub-package per paper (plus the core built-ins)."""
