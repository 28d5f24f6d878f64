"""AttentionMILClassifier: an attention-pooling set model behind the scikit-learn API.

Training goes through skorch (:class:`setlearn.nn.BagNet`), with bags stored once in one
tensor (see :class:`setlearn.bags.PaddedBags`) and fed as padded, masked,
size-bucketed batches, so skorch adds little per step. The same training function fits one model or many stacked members
of one configuration (see :mod:`setlearn.nn`), which is how
:class:`setlearn.AttentionEnsemble` trains its members together.
"""

from ..nn import BagDataset, BagNet
from ._classifier import AttentionMILClassifier

__all__ = ["AttentionMILClassifier", "BagDataset", "BagNet"]
