"""YAML pipelines: spec, validation, runner."""

from .runner import Pipeline, RunResult
from .spec import PipelineSpec

__all__ = ["Pipeline", "PipelineSpec", "RunResult"]
