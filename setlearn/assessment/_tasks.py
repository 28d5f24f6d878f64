"""The models and data sets of an assessment, with reproducible seeds."""

from __future__ import annotations

import dataclasses
import functools
import json
import time
import zlib

import numpy as np
from ._config import _ABBREVIATIONS, _SPLITS, _param_order
from ._explainers import _explain_test, _model_columns as _explainer_columns
from ._store import MODEL_KEY, _MODEL_METRICS


# --------------------------------------------------------------------------- tasks


def _derive_seed(base, *parts):
    """A reproducible 32-bit seed for one named thing (a split, a model, an ensemble).

    crc32 rather than hash(): it must agree across processes and machines.
    """
    tag = zlib.crc32("/".join(map(str, parts)).encode())
    return int(np.random.SeedSequence([base, tag]).generate_state(1)[0])


def _config_id(params):
    return "-".join(f"{_ABBREVIATIONS.get(k, k)}{params[k]}" for k in sorted(params, key=_param_order))


def _population_columns(problems):
    """``iauc_roc_pop<k>`` for every deciding population of ``problems``: each model's
    attention scored on population k alone (empty in the rows of a problem without k)."""
    from setlearn.datasets import PROBLEMS

    deciding = sorted({k for problem in problems for k in PROBLEMS[problem].important})
    return [f"iauc_roc_pop{k}" for k in deciding]


def _model_columns(config):
    return (MODEL_KEY[:4] + config.grid_parameters + MODEL_KEY[4:] + _MODEL_METRICS
            + _population_columns(config.problems) + _explainer_columns(config.explainers))


@dataclasses.dataclass(frozen=True)
class _Data:
    """What a worker needs to rebuild the data sets (hashable, for the cache)."""

    n_bags: tuple
    bag_size: int
    data_params: str
    seed: int

    @classmethod
    def of(cls, config):
        """The data of a :class:`StudyConfig`."""
        return cls((config.n_train_bags, config.n_valid_bags, config.n_test_bags), config.bag_size,
                   json.dumps(config.data_params, sort_keys=True), config.seed)


@dataclasses.dataclass(frozen=True)
class _ModelTask:
    problem: str
    modality: str
    stage: str
    config_id: str
    params: tuple
    repeat: int
    seed: int

    @property
    def key(self):
        return (self.problem, self.modality, self.stage, self.config_id, self.repeat)


@functools.lru_cache(maxsize=12)
def _dataset_with_populations(problem, modality, split, data):
    """One split of one task with every instance's population; cached so a worker builds it once."""
    from setlearn.datasets import make_bags
    from setlearn.datasets._generators import _POOL_LOADERS

    kwargs = json.loads(data.data_params)
    if modality in _POOL_LOADERS:
        # Each split draws from its own image pool, so no validation or test bag
        # holds an image seen in training (validation picks the models).
        kwargs["pool"] = split
    X, y, importance, populations = make_bags(
        problem, modality, n_bags=data.n_bags[_SPLITS.index(split)], bag_size=data.bag_size,
        random_state=_derive_seed(data.seed, "data", problem, modality, split), return_populations=True,
        **kwargs,
    )
    return X, np.asarray(y), importance, populations


def _dataset(problem, modality, split, data):
    """One split of one task: bags, labels, importance."""
    return _dataset_with_populations(problem, modality, split, data)[:3]


def _fit_and_score_stack(stack, wanted, data, estimator_params, keep_attention, methods):
    """Train one stack (see :func:`_stacks`) as one module and measure the members in ``wanted``.

    Runs in a worker; returns a list of ``(row, scores by explainer or None)``, one per
    member whose key is in ``wanted``, in the order of the stack. The whole stack is
    trained even when only some of its rows are wanted (a resumed or partly lost
    stack), so every member gets the numbers it gets in an uninterrupted run.
    """
    import torch

    from setlearn.ensemble._ensemble import fit_stacked
    from setlearn.estimators import AttentionMILClassifier

    first = stack[0]
    X_train, y_train, _ = _dataset(first.problem, first.modality, "train", data)
    models = [AttentionMILClassifier(**estimator_params, **dict(t.params), random_state=t.seed, verbose=0)
              for t in stack]
    # One thread per model: these networks are tiny, and on a busy machine torch's
    # intra-op threads spin against each other (measured 8x slower with 2 threads on
    # 2 shared cores). Parallelism comes from training several stacks at once (n_jobs).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        fit_stacked(models, X_train, y_train)
        # A member's share of the stack's time: the stack trains its members in one module.
        fit_time = (time.perf_counter() - start) / len(stack)
        return [_score_fitted(task, model, fit_time, data, keep_attention, methods)
                for task, model in zip(stack, models) if task.key in wanted]
    finally:
        torch.set_num_threads(threads)


def _score_fitted(task, model, fit_time, data, keep_attention, methods):
    """Measure one fitted model of ``task``; returns (row, scores by explainer or None)."""
    from sklearn.metrics import log_loss, roc_auc_score

    from setlearn.metrics import (importance_auroc_per_population, importance_auroc_score,
                                  importance_average_precision_score)

    X_valid, y_valid, _ = _dataset(task.problem, task.modality, "valid", data)
    X_test, y_test, imp_test, populations_test = _dataset_with_populations(task.problem, task.modality, "test", data)
    valid_proba = model.predict_proba(X_valid)
    test_proba = model.predict_proba(X_test)
    scores, explainer_fields = _explain_test(model, X_test, y_test, imp_test, methods)
    attention = scores["attention"]
    positive = list(model.classes_).index(1)
    row = {
        "problem": task.problem, "modality": task.modality, "stage": task.stage,
        "config_id": task.config_id, **dict(task.params), "repeat": task.repeat, "seed": task.seed,
        "valid_accuracy": float(np.mean(model.classes_[valid_proba.argmax(1)] == y_valid)),
        "valid_log_loss": float(log_loss(y_valid, valid_proba, labels=model.classes_)),
        "test_accuracy": float(np.mean(model.classes_[test_proba.argmax(1)] == y_test)),
        "test_bag_auc": float(roc_auc_score(y_test, test_proba[:, positive])),
        "iauc_roc": float(importance_auroc_score(imp_test, attention, y=y_test)),
        "iauc_pr": float(importance_average_precision_score(imp_test, attention, y=y_test)),
        "fit_time_s": round(fit_time, 3),
        **{f"iauc_roc_pop{k}": float(v) for k, v in
           importance_auroc_per_population(imp_test, attention, populations_test, y=y_test).items()},
        **explainer_fields,
    }
    return row, (scores if keep_attention else None)


def _model_tasks(config, stage, top=None):
    """The models of one stage; ``top`` maps (problem, modality) to its top-k config ids."""
    from sklearn.model_selection import ParameterGrid

    repeats = config.search_seeds if stage == "search" else config.n_retrain
    tasks = []
    for modality in config.modalities:
        for problem in config.problems:
            for params in ParameterGrid(config.grid[modality]):
                config_id = _config_id(params)
                if top is not None and config_id not in top[problem, modality]:
                    continue
                items = tuple(sorted(params.items(), key=lambda kv: _param_order(kv[0])))
                for repeat in range(repeats):
                    seed = _derive_seed(config.seed, "model", problem, modality, stage, config_id, repeat)
                    tasks.append(_ModelTask(problem, modality, stage, config_id, items, repeat, seed))
    return tasks


def _stack_size(config, task, data):
    """Members of one stack of ``task``'s configuration: ``config.stack_size``, or fewer where the
    stacking memory budget allows fewer. Depends on the config and the data's sizes only."""
    from setlearn.ensemble._ensemble import _members_per_module
    from setlearn.estimators import AttentionMILClassifier

    if config.stack_size == 1:
        return 1
    X_train, y_train, _ = _dataset(task.problem, task.modality, "train", data)
    model = AttentionMILClassifier(**config.estimator_params, **dict(task.params))
    architecture = model._architecture(np.shape(X_train[0])[1:], len(np.unique(y_train)))
    sizes = [len(bag) for bag in X_train]
    return max(1, min(config.stack_size, _members_per_module(architecture, model._training(), sizes)))


def _stacks(config, tasks, data):
    """The stacks of ``tasks`` (from :func:`_model_tasks`): tuples of tasks trained as one module.

    A stack is a fixed chunk of consecutive repeats of one (problem, modality, stage,
    config_id): repeats ``k * n`` to ``(k + 1) * n - 1``, with ``n`` from
    :func:`_stack_size`. Stacks are the same on every machine and in every run, so a
    stack retrained to fill its missing rows gives the numbers it gave the first time.
    """
    groups = {}
    for task in tasks:
        groups.setdefault(task.key[:4], []).append(task)
    stacks = []
    for group in groups.values():
        size = _stack_size(config, group[0], data)
        group = sorted(group, key=lambda t: t.repeat)
        stacks += [tuple(group[i : i + size]) for i in range(0, len(group), size)]
    return stacks
