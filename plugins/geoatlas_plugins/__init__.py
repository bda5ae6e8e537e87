"""Built-in geoatlas plugins: one sub-package per paper (plus the core built-ins).

This package is a *plugin collection*: every sub-package is one plugin whose id is its folder
name. The loader walks the folders, so adding a plugin is adding a folder; nothing else changes.
"""

GEOATLAS_PLUGIN_COLLECTION = True
