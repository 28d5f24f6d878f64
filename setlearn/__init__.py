"""setlearn: attention-based learning on sets, with a number for whether the attention can be trusted.

The public API is re-exported here. Names are imported on first use, so that
``import setlearn`` (and the ``setlearn`` command) stays fast and does not load
torch before it is needed.

Examples
--------
>>> import setlearn
>>> X, y, importance = setlearn.make_bags("mil", n_bags=20, bag_size=10, random_state=0)
>>> len(X), X[0].shape[1]
(20, 4)
"""

from importlib import import_module

__version__ = "0.1.0.dev0"

_EXPORTS = {
    "AttentionMILClassifier": "setlearn.estimators",
    "AttentionEnsemble": "setlearn.ensemble",
    "AttentionDisagreementWarning": "setlearn.ensemble",
    "InstanceTransformer": "setlearn.preprocessing",
    "make_bags": "setlearn.datasets",
    "make_bags_from": "setlearn.datasets",
    "importance_auroc_score": "setlearn.metrics",
    "importance_average_precision_score": "setlearn.metrics",
    "make_importance_scorer": "setlearn.metrics",
    "importance_auroc": "setlearn.metrics",
    "importance_average_precision": "setlearn.metrics",
    "check_bags": "setlearn.bags",
    "bags_from_frame": "setlearn.bags",
    "bags_from_anndata": "setlearn.bags",
    "instance_values_to_frame": "setlearn.bags",
    "assess": "setlearn.assessment",
    "save_model": "setlearn._persistence",
    "load_model": "setlearn._persistence",
    "explain": "setlearn._explain_api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'setlearn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
