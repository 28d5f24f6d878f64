"""Saving fitted models without pickle: parameters as JSON, weights as tensors.

``pickle`` (and ``joblib.dump``) can execute code when a file is loaded, so a
model file from someone else is a program you run. :func:`save_model` writes
only data: the estimator's parameters and training history as JSON text, its
classes and instance shape, and every member's weights as tensors, all in one
file that :func:`load_model` reads with ``torch.load(weights_only=True)``,
which refuses anything but tensors and plain containers.
"""

import json

import numpy as np
import torch
from skorch.history import History
from torch import nn

_FORMAT = "setlearn-model"
_VERSION = 1


def _json_default(value):
    # numpy scalars in histories and grids.
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _classifier_params(clf):
    params = clf.get_params(deep=False)
    if isinstance(params["featurizer"], nn.Module):
        raise ValueError(
            "save_model stores parameters as JSON, and a custom featurizer module is code, not "
            "data. Save such a model with pickle (only ever load pickles you trust), or save "
            "model.net_.module_.state_dict() and rebuild the featurizer yourself."
        )
    if not (params["random_state"] is None or isinstance(params["random_state"], (int, np.integer))):
        # Only an int or None has a JSON form; the seed matters for refitting, not for predicting.
        params["random_state"] = None
    if isinstance(params["device"], torch.device):
        params["device"] = str(params["device"])
    return params


def _member_payload(clf):
    return {
        "params": json.dumps(_classifier_params(clf), default=_json_default),
        "weights": {k: v.detach().cpu() for k, v in clf.net_.module_.state_dict().items()},
        "history": json.dumps(list(clf.history_), default=_json_default),
    }


def _load_member(payload, classes, instance_shape):
    from .estimators import AttentionMILClassifier
    from .nn import ArchitectureSpec, TrainingSpec
    from .nn._net import make_net

    params = json.loads(payload["params"])
    module = ArchitectureSpec.from_params(params, instance_shape, len(classes)).build(seeds=[0])
    module.load_state_dict(payload["weights"])
    net = make_net(TrainingSpec.from_params(params), module).initialize()
    clf = AttentionMILClassifier(**params)
    net.history = History(json.loads(payload["history"]))
    return clf._set_fitted(net, classes, instance_shape)


def save_model(model, path):
    """Save a fitted estimator to one file that loading cannot turn into code execution.

    The estimator is a fitted :class:`~setlearn.AttentionMILClassifier` or
    :class:`~setlearn.AttentionEnsemble`.

    Parameters
    ----------
    model : AttentionMILClassifier or AttentionEnsemble
        A fitted model with built-in featurizers (``"auto"``, ``"mlp"`` or
        ``"cnn"``); a custom featurizer module is code and is refused.
        A ``random_state`` that is not an int is saved as ``None``.
    path : str or path-like
        The file to write (by convention ``*.pt``).

    Returns
    -------
    None
        The model is written to ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from setlearn import AttentionMILClassifier, load_model, make_bags, save_model
    >>> X, y, _ = make_bags("mil", n_bags=20, bag_size=5, random_state=0)
    >>> clf = AttentionMILClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.pt"
    >>> save_model(clf, path)
    >>> bool(np.array_equal(load_model(path).predict_proba(X), clf.predict_proba(X)))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    from .ensemble import AttentionEnsemble
    from .estimators import AttentionMILClassifier

    check_is_fitted(model)
    if isinstance(model, AttentionEnsemble):
        params = model.get_params(deep=False)
        base = params.pop("estimator")
        if isinstance(base, list):
            params["estimator"] = [_classifier_params(e) for e in base]
        else:
            params["estimator"] = None if base is None else _classifier_params(base)
        if not (params["random_state"] is None or isinstance(params["random_state"], (int, np.integer))):
            params["random_state"] = None
        members = model.estimators_
    elif isinstance(model, AttentionMILClassifier):
        params = _classifier_params(model)
        members = [model]
    else:
        raise TypeError(f"save_model saves AttentionMILClassifier and AttentionEnsemble, got {type(model).__name__}.")
    payload = {
        "format": _FORMAT,
        "version": _VERSION,
        "class": type(model).__name__,
        "params": json.dumps(params, default=_json_default),
        "classes": json.dumps(model.classes_.tolist(), default=_json_default),
        "classes_dtype": model.classes_.dtype.str,
        "instance_shape": list(model.instance_shape_),
        "members": [_member_payload(m) for m in members],
    }
    torch.save(payload, path)


def load_model(path):
    """Load a model written by :func:`save_model`; no code from the file is executed.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.

    Returns
    -------
    model : AttentionMILClassifier or AttentionEnsemble
        Fitted, on the CPU, predicting exactly as the saved model did.

    Raises
    ------
    ValueError
        If the file is not a setlearn model file.

    Examples
    --------
    See :func:`save_model`.
    """
    from .ensemble import AttentionEnsemble
    from .estimators import AttentionMILClassifier

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unpickler refusal, a zip error, ...: all mean "not ours"
        raise ValueError(f"{str(path)!r} is not a model file written by setlearn.save_model ({exc}).") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{str(path)!r} is not a model file written by setlearn.save_model.")
    if payload["version"] > _VERSION:
        raise ValueError(
            f"{str(path)!r} was written by a newer setlearn (format version {payload['version']}); "
            f"upgrade setlearn to load it."
        )
    classes = np.asarray(json.loads(payload["classes"]), dtype=np.dtype(payload["classes_dtype"]))
    instance_shape = tuple(payload["instance_shape"])
    members = [_load_member(m, classes, instance_shape) for m in payload["members"]]
    params = json.loads(payload["params"])
    if payload["class"] == "AttentionMILClassifier":
        return members[0]
    base = params.pop("estimator")
    if isinstance(base, list):
        params["estimator"] = [AttentionMILClassifier(**p) for p in base]
    else:
        params["estimator"] = None if base is None else AttentionMILClassifier(**base)
    return AttentionEnsemble(**params)._record_fit(classes, instance_shape, estimators_=members)
