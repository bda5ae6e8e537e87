"""A plugin that fails on import, on purpose (see examples/broken_plugin/pyproject.toml)."""

import a_module_that_does_not_exist  # noqa: F401
