"""Saving fitted models without pickle: parameters as JSON, weights as tensors.

``pickle`` (and ``joblib.dump``) can execute code when a file is loaded, so a
model file from someone else is a program you run. :func:`save_model` writes
only data: the estimator's parameters and training history as JSON text, its
classes and instance shape, and every member's weights as tensors, all in one
file that :func:`load_model` reads with ``torch.load(weights_only=True)``,
which refuses anything but tensors and plain containers.
"""

import json
from pathlib import Path

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


class _DamagedModelFile(ValueError):
    """A model file that loads but whose content is not what save_model writes."""


def _field(payload, key, kind, what):
    if not isinstance(payload, dict) or key not in payload:
        raise _DamagedModelFile(f"{what} has no {key!r}")
    value = payload[key]
    if not isinstance(value, kind):
        raise _DamagedModelFile(f"{what}[{key!r}] is a {type(value).__name__}")
    return value


def _json_field(payload, key, kind, what):
    try:
        value = json.loads(_field(payload, key, str, what))
    except json.JSONDecodeError as exc:
        raise _DamagedModelFile(f"{what}[{key!r}] is not valid JSON ({exc})") from None
    if not isinstance(value, kind):
        raise _DamagedModelFile(f"{what}[{key!r}] holds a {type(value).__name__}")
    return value


def _checked_estimator(cls, params, what):
    """``cls(**params)``, its parameters checked as ``fit`` would check them (the estimator's own constraints)."""
    try:
        estimator = cls(**params)
        estimator._validate_params()
    except (TypeError, ValueError) as exc:  # unknown names; sklearn's InvalidParameterError is a ValueError
        raise _DamagedModelFile(f"{what}: {exc}") from None
    return estimator


def _checked_classes(payload):
    classes = _json_field(payload, "classes", list, "the file")
    try:
        dtype = np.dtype(_field(payload, "classes_dtype", str, "the file"))
        converted = np.asarray(classes, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise _DamagedModelFile(f"the classes {classes[:5]} do not have the stored dtype ({exc})") from None
    # A dtype that does not hold the classes (e.g. "<U1" for "healthy") would truncate them silently.
    if dtype.kind not in "biufUO" or converted.ndim != 1 or converted.tolist() != classes:
        raise _DamagedModelFile(f"the classes {classes[:5]} do not survive their stored dtype {dtype.str!r}")
    if len(converted) < 2 or len(np.unique(converted)) != len(converted):
        raise _DamagedModelFile(f"a classifier has at least two distinct classes, the file holds {classes[:5]}")
    return converted


def _checked_instance_shape(payload):
    shape = _field(payload, "instance_shape", list, "the file")
    if not shape or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape):
        raise _DamagedModelFile(f"the instance shape {shape[:5]} is not a list of positive ints")
    return tuple(shape)


def _load_member(payload, classes, instance_shape, what):
    from .estimators import AttentionMILClassifier
    from .nn import ArchitectureSpec, TrainingSpec
    from .nn._net import make_net

    params = _json_field(payload, "params", dict, what)
    clf = _checked_estimator(AttentionMILClassifier, params, what)
    weights = _field(payload, "weights", dict, what)
    for name, tensor in weights.items():
        if not isinstance(tensor, torch.Tensor):
            raise _DamagedModelFile(f"{what}: the weights {name!r} are a {type(tensor).__name__}, not a tensor")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise _DamagedModelFile(f"{what}: the weights {name!r} hold NaN or infinite values")
    try:
        module = ArchitectureSpec.from_params(params, instance_shape, len(classes)).build(seeds=[0])
    except ValueError as exc:  # e.g. a CNN featurizer for vector instances
        raise _DamagedModelFile(f"{what}: {exc}") from None
    try:
        # strict: every weight the architecture needs, of its shape, and no other.
        module.load_state_dict(weights)
    except RuntimeError as exc:
        reason = " ".join(str(exc).split())[:300]
        raise _DamagedModelFile(f"{what}: the weights do not fit its parameters ({reason})") from None
    net = make_net(TrainingSpec.from_params(params), module).initialize()
    history = _json_field(payload, "history", list, what)
    if not all(isinstance(epoch, dict) for epoch in history):
        raise _DamagedModelFile(f"{what}: the training history is not a list of epochs")
    net.history = History(history)
    return clf._set_fitted(net, classes, instance_shape)


def _load_payload(payload):
    from .ensemble import AttentionEnsemble
    from .estimators import AttentionMILClassifier

    kind = _field(payload, "class", str, "the file")
    if kind not in ("AttentionMILClassifier", "AttentionEnsemble"):
        raise _DamagedModelFile(f"the model class {kind[:50]!r} is neither AttentionMILClassifier nor AttentionEnsemble")
    classes = _checked_classes(payload)
    instance_shape = _checked_instance_shape(payload)
    stored = _field(payload, "members", list, "the file")
    params = _json_field(payload, "params", dict, "the file")
    if kind == "AttentionMILClassifier":
        if len(stored) != 1:
            raise _DamagedModelFile(f"a classifier has one set of weights, the file holds {len(stored)}")
        return _load_member(stored[0], classes, instance_shape, "the model")
    base = params.pop("estimator", None)
    if isinstance(base, list):
        if not all(isinstance(p, dict) for p in base):
            raise _DamagedModelFile("the ensemble's list of estimators holds something other than parameters")
        params["estimator"] = [_checked_estimator(AttentionMILClassifier, p, f"estimator {i} of the ensemble")
                               for i, p in enumerate(base)]
    elif isinstance(base, dict) or base is None:
        params["estimator"] = None if base is None else _checked_estimator(AttentionMILClassifier, base,
                                                                            "the ensemble's estimator")
    else:
        raise _DamagedModelFile(f"the ensemble's estimator is a {type(base).__name__}")
    ensemble = _checked_estimator(AttentionEnsemble, params, "the ensemble")
    if len(stored) != ensemble.n_estimators:
        raise _DamagedModelFile(f"the ensemble has n_estimators={ensemble.n_estimators} but the file holds "
                                f"{len(stored)} members")
    members = [_load_member(m, classes, instance_shape, f"member {i}") for i, m in enumerate(stored)]
    return ensemble._record_fit(classes, instance_shape, estimators_=members)


def save_model(model, path):
    """Save a fitted estimator to one file that loading cannot turn into code execution.

    The estimator is a fitted :class:`~setlearn.AttentionMILClassifier` or
    :class:`~setlearn.AttentionEnsemble`.

    Parameters
    ----------
    model : AttentionMILClassifier or AttentionEnsemble
        A fitted model with built-in featurizers (``"auto"``, ``"mlp"`` or
        ``"cnn"``); a custom featurizer module is code and is refused.
        A ``random_state`` that is not an int is saved as ``None``. A
        scikit-learn ``Pipeline`` is refused with a ``TypeError`` that says
        what to do instead: save its final step, ``save_model(pipe[-1],
        path)``, and refit (or pickle) the transforms.
    path : str or path-like
        The file to write (by convention ``*.pt``); its folder must exist.

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

    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{str(path)!r} is a folder; save_model writes one file: pass a file name such as "
                         f"{str(target / 'model.pt')!r}.")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"Cannot write {str(path)!r}: the folder {str(target.parent)!r} does not exist.")
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
        hint = ""
        if hasattr(model, "steps"):  # a scikit-learn Pipeline
            hint = (" A Pipeline is not saved as a whole: its transforms are arbitrary scikit-learn objects, "
                    "which have no form that is data only. Save the final estimator with "
                    "save_model(pipe[-1], path) and refit the transforms, or save them with joblib.dump "
                    "(a pickle: only ever load pickles you trust).")
        raise TypeError(f"save_model saves AttentionMILClassifier and AttentionEnsemble, got "
                        f"{type(model).__name__}.{hint}")
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
        If the file is not a setlearn model file, or is damaged: parameters
        the estimator's own checks refuse, weights missing, of the wrong
        shape or not finite, classes that their stored dtype would change, or
        an ensemble whose members disagree with its ``n_estimators``.

    Examples
    --------
    See :func:`save_model`.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unpickler refusal, a zip error, ...: all mean "not ours"
        raise ValueError(f"{str(path)!r} is not a model file written by setlearn.save_model ({exc}).") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{str(path)!r} is not a model file written by setlearn.save_model.")
    version = payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{str(path)!r} is a damaged setlearn model file: its format version is {version!r}.")
    if version > _VERSION:
        raise ValueError(
            f"{str(path)!r} was written by a newer setlearn (format version {payload['version']}); "
            f"upgrade setlearn to load it."
        )
    try:
        return _load_payload(payload)
    except _DamagedModelFile as exc:
        raise ValueError(
            f"{str(path)!r} is a damaged setlearn model file (or one edited by hand): {exc}. Save the "
            f"model again with setlearn.save_model."
        ) from None
