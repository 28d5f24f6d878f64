"""Inspection: can the ground truth be trusted as the only way to the label?

:func:`audit_ground_truth` measures how well the bag label can be predicted
*without* attending to the important instances: from the shares of the
unimportant populations alone, and by the same architecture with uniform
attention (mean pooling). A low iAUC-ROC is a failure of attention only where
both are low; see ``docs/datasets.md`` ("The ground-truth audit").

Importing this package does not import torch.
"""

from ._audit import AUDIT_COLUMNS, audit_ground_truth, auroc_interval, population_shares

__all__ = ["audit_ground_truth", "auroc_interval", "population_shares", "AUDIT_COLUMNS"]
