"""The one place where setlearn builds, trains and explains torch networks.

- ``_modules``: featurizer -> attention pooling -> classifier, with a member axis, so
  one network holds several independently initialised models (stacked weights);
- ``_net``: bags as skorch sees them (:class:`BagDataset`) and the skorch net that
  trains them (:class:`BagNet`);
- ``_explain``: the explainers behind ``explain(X, method=...)``.

The estimators build on it; ``setlearn.datasets``, ``setlearn.metrics``, ``setlearn.bags``
and the assessment's table functions never load torch (tested).
"""

from ._modules import AttentionMILNet, AttentionPooling, CNNFeaturizer, MLPFeaturizer, ModuleFeaturizer, StackedLinear
from ._net import BagDataset, BagNet

__all__ = [
    "StackedLinear",
    "MLPFeaturizer",
    "CNNFeaturizer",
    "ModuleFeaturizer",
    "AttentionPooling",
    "AttentionMILNet",
    "BagDataset",
    "BagNet",
]
