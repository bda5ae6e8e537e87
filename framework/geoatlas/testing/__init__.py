"""Conformance checks for plugin authors.

Each ``check_*`` returns a report (a dict of measured errors) and raises ``AssertionError``
with the numbers when a property fails. Use them in tests::

    import geoatlas as ga
    from geoatlas.testing import check_manifold
    report = check_manifold(ga.create("manifold", "poincare_ball", dim=3))
"""

from __future__ import annotations

from .checks import check_descriptor, check_equivariance, check_group, check_manifold
from .kinds import check_loss, check_measure, check_metric, check_task

__all__ = [
    "check_descriptor",
    "check_equivariance",
    "check_group",
    "check_loss",
    "check_manifold",
    "check_measure",
    "check_metric",
    "check_task",
]
