"""What the estimators of setlearn share: label handling and input checks."""


import numpy as np
from sklearn.preprocessing import LabelEncoder

from .bags import check_bag_labels, check_bags


_ROUTING_HINT = (
    "Per-instance ground truth such as 'importance' is for scorers, not for fit. Enable "
    "metadata routing with sklearn.set_config(enable_metadata_routing=True) so that "
    "cross_val_score(..., params={'importance': importance}) or "
    "GridSearchCV(...).fit(X, y, importance=importance) sends it to the scorer."
)


def validate_training_bags(X, y):
    """Validated bags, encoded labels and classes for training a classifier on bags."""
    bags = check_bags(X)
    y = check_bag_labels(y, len(bags))
    encoder = LabelEncoder().fit(y)
    if len(encoder.classes_) < 2:
        raise ValueError(
            f"y holds a single class ({encoder.classes_[0]!r}); a classifier needs bags of at "
            f"least two classes."
        )
    return bags, encoder.transform(y).astype(np.int64), encoder.classes_


def _softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _check_known_labels(y, classes):
    y = np.asarray(y)
    unknown = np.setdiff1d(np.unique(y), classes)
    if len(unknown):
        raise ValueError(
            f"y contains labels never seen during fit: {unknown.tolist()}; the estimator knows "
            f"{classes.tolist()}. Score only on bags whose labels were among the training classes."
        )


