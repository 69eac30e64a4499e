"""Rubrics: rubric files, their schema, and the pure scoring function. No Django."""

from .schema import Criterion, Rubric, SchemaError, SchemaIssue, load_rubric, parse_rubric
from .scoring import CriterionScore, CriticalFault, Evidence, Scorecard, rescore, score

__all__ = [
    "Criterion",
    "CriterionScore",
    "CriticalFault",
    "Evidence",
    "Rubric",
    "SchemaError",
    "SchemaIssue",
    "Scorecard",
    "load_rubric",
    "parse_rubric",
    "rescore",
    "score",
]
