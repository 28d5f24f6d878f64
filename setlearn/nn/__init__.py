"""Torch modules: featurizer -> attention pooling -> classifier, for one or many members.

Every module here carries a leading *member* dimension: a network built with
``n_members=E`` holds ``E`` independent models with stacked weights and runs
them in one batched matrix product per layer. A single model is simply
``n_members=1``, so single models and same-configuration ensembles share one
code path. Members never mix: the loss is a sum of per-member losses, and
Adam updates every weight element-wise, so training ``E`` stacked members is
equivalent to training them one after another on the same batches.

Shapes used below: ``E`` members, ``B`` bags, ``N`` instances per (padded)
bag, ``M = B * N`` instances in a batch, ``H`` hidden size.
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
