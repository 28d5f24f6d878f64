"""Inspection: can the ground truth be trusted as the only way to the label?

:func:`audit_ground_truth` measures, for every strict subset of the populations
that lacks a deciding one, how well a model attending only to it could predict
the bag label, against the bound the labelling rule allows (a subset above its
bound is a *leak*); what uniform attention sees (whole-bag shares, bag size);
and whether attention is needed at all (the same architecture with uniform
attention). See ``docs/datasets.md`` ("The ground-truth audit").

:func:`classify_bad_model` says why a model's explanation failed, from its
iAUC per deciding population (:func:`setlearn.metrics.importance_auroc_per_population`)
and its validation accuracy.

Importing this package does not import torch.
"""

from ._audit import (
    AUDIT_COLUMNS,
    RENAMED_CHECKS,
    AuditCheck,
    GroundTruthAudit,
    SubsetCheck,
    audit_ground_truth,
    auroc_interval,
    population_shares,
)
from ._failures import FAILURE_KINDS, classify_bad_model

__all__ = [
    "audit_ground_truth",
    "auroc_interval",
    "population_shares",
    "AuditCheck",
    "SubsetCheck",
    "GroundTruthAudit",
    "AUDIT_COLUMNS",
    "RENAMED_CHECKS",
    "classify_bad_model",
    "FAILURE_KINDS",
]
