"""The one place where setlearn builds, trains and explains torch networks.

- ``_modules``: featurizer -> attention pooling -> classifier, with a member axis, so
  one network holds several independently initialised models (stacked weights);
- ``_architecture``: which estimator parameters shape the network
  (:class:`ArchitectureSpec`) and which drive its training (:class:`TrainingSpec`);
  everything below reads these, never the estimator;
- ``_net``: bags as skorch sees them (:class:`BagDataset`) and the skorch net that
  trains them (:class:`BagNet`);
- ``_explain``: the explainers behind ``explain(X, method=...)``.

The estimators build on it; ``setlearn.datasets``, ``setlearn.metrics``, ``setlearn.bags``
and the assessment's table functions never load torch (tested).
"""

from ._architecture import ArchitectureSpec, TrainingSpec
from ._modules import AttentionMILNet, AttentionPooling, CNNFeaturizer, MLPFeaturizer, ModuleFeaturizer, StackedLinear
from ..base import DivergenceError
from ._net import BagDataset, BagNet

__all__ = [
    "ArchitectureSpec",
    "TrainingSpec",
    "StackedLinear",
    "MLPFeaturizer",
    "CNNFeaturizer",
    "ModuleFeaturizer",
    "AttentionPooling",
    "AttentionMILNet",
    "BagDataset",
    "BagNet",
    "DivergenceError",
]
