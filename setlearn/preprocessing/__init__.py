"""Preprocessing of bags: scikit-learn transformers applied instance by instance.

:class:`InstanceTransformer` fits any scikit-learn transformer on the instances
of the training bags and applies it to every instance, so that scaling,
imputation or a projection can sit in a :class:`~sklearn.pipeline.Pipeline`
in front of a setlearn estimator and be refitted on every training fold::

    make_pipeline(InstanceTransformer(StandardScaler()), AttentionMILClassifier())
"""

from ._instance import InstanceTransformer

__all__ = ["InstanceTransformer"]
