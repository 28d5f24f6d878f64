"""Explainers of a trained :class:`~setlearn.nn.AttentionMILNet`: one score per instance.

Every explainer works on the module's dense padded forward
(``module(x, mask)`` on bags padded to a common length) and returns scores of
shape ``(E, B, N)`` (members, bags, padded instances); padding positions are
stripped by :func:`explain_bags`. Perturbation explainers featurize every
instance once and re-pool the features (:meth:`AttentionMILNet.pool
<setlearn.nn.AttentionMILNet.pool>`): keep-one pools each instance alone,
drop-one uses each pooling's closed form for a bag without one instance
(linear in the bag size), MILLI pools its sampled sub-bags as rows of chunked,
masked batches; never one Python forward per instance.

What each method returns (the contract documented in docs/explainers.md):

============================  ===========  =====================================================
method                        kind         score of instance ``m`` of a bag
============================  ===========  =====================================================
``"attention"``               weights      attention weight ``a_m`` (non-negative, sums to 1)
``"attention_norm"``          weights      ``a_m * ||h_m||``, renormalised to sum to 1
                                           (Kobayashi et al., 2020; ``h_m`` = instance features)
``"gradient_input"``          signed       gradient x input of the target logit, summed over
                                           the instance's features
``"integrated_gradients"``    signed       captum's Integrated Gradients of the target logit,
                                           all-zero instances as baseline, midpoint rule with
                                           50 steps, summed over features
``"drop_one"``                signed       ``p_target(bag) - p_target(bag without m)``
``"keep_one"``                probability  ``p_target(bag holding only m)``, in [0, 1]
``"contribution"``            signed       ``a_m * f(h_m)[target]``: the instance's exact share
                                           of the target logit (``pooling="additive"`` only)
``"lrp"``                     signed       xMIL-LRP relevance of the target logit (Hense et al.,
                                           2024): epsilon rule, attention held constant
                                           (:mod:`setlearn.nn._lrp`), summed over features
``"milli"``                   signed       MILLI (Early et al., 2022): the instance's coefficient
                                           in a weighted linear surrogate of ``p_target`` over
                                           ``n_samples`` sampled sub-bags
============================  ===========  =====================================================

For every method a larger score means "supports the target class more";
signed scores below 0 speak against it. Rank-based scores (iAUC-ROC, iAUC-PR)
rank the scores as returned: negative evidence ranks lowest, not by its size.
"""

import contextlib
import dataclasses
from numbers import Integral, Real

import numpy as np
import torch

from ._lrp import lrp_rules

# kind of every method: "weights" are non-negative and sum to 1 per bag.
EXPLAINERS = {
    "attention": "weights",
    "attention_norm": "weights",
    "gradient_input": "signed",
    "integrated_gradients": "signed",
    "drop_one": "signed",
    "keep_one": "probability",
    "contribution": "signed",
    "lrp": "signed",
    "milli": "signed",
}

#: MILLI's defaults: sampled sub-bags per bag, and the two parameters of its
#: inclusion probability over instance ranks (see :func:`milli_inclusion`).
#: alpha < 0.5: the instances that look most important alone are kept in few
#: sub-bags and the least important in most, so that one witness's effect is
#: seen against a background that rarely holds another; beta shapes the curve.
MILLI_SAMPLES = 200
MILLI_ALPHA = 0.05
MILLI_BETA = 0.01


@dataclasses.dataclass(frozen=True)
class MilliSampling:
    """How MILLI samples its sub-bags: how many per bag, and the inclusion curve.

    Parameters
    ----------
    n_samples : int, default=MILLI_SAMPLES
        Sub-bags sampled per bag; the cost grows linearly with it.
    alpha : float, default=MILLI_ALPHA
        Keep probability of the instance that looks most important alone
        (:func:`milli_inclusion`), in ``[0, 0.5)``: the regime setlearn implements,
        where that instance is kept least often and the least important most often.
    beta : float, default=MILLI_BETA
        The curve's decay over ranks, ``>= 0`` (0: linear in the rank).

    Examples
    --------
    >>> from setlearn.nn._explain import MilliSampling
    >>> MilliSampling(n_samples=50, alpha=0.1)
    MilliSampling(n_samples=50, alpha=0.1, beta=0.01)
    """

    n_samples: int = MILLI_SAMPLES
    alpha: float = MILLI_ALPHA
    beta: float = MILLI_BETA

    def __post_init__(self):
        if isinstance(self.n_samples, bool) or not isinstance(self.n_samples, Integral) or self.n_samples < 1:
            raise ValueError(f"n_samples must be a positive int (sub-bags sampled per bag), got {self.n_samples!r}.")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, Real) or not 0 <= self.alpha < 0.5:
            raise ValueError(
                f"alpha must be a float in [0, 0.5) (the keep probability of the instance that looks most "
                f"important alone; setlearn implements MILLI's alpha < 0.5 regime), got {self.alpha!r}."
            )
        if isinstance(self.beta, bool) or not isinstance(self.beta, Real) or not 0 <= self.beta < np.inf:
            raise ValueError(f"beta must be a finite float >= 0 (the inclusion curve's decay), got {self.beta!r}.")
        object.__setattr__(self, "n_samples", int(self.n_samples))


#: Integrated Gradients: captum's midpoint Riemann sum with this many steps
#: along the straight path from the all-zero baseline to the input. On ReLU
#: networks (kinks along the path) it met completeness 2x more closely than
#: captum's default Gauss-Legendre rule at the same cost (mean error 0.004
#: against 0.009 logits, 50 steps, tiny trained models).
IG_STEPS = 50
IG_METHOD = "riemann_middle"

# Elements of padded input per perturbation chunk (rows x instances x instance
# size), so drop-one on large bags does not build one huge batch.
_CHUNK_ELEMENTS = 2**21


def check_method(method, pooling="attention"):
    """Validate an explainer name (and that it fits the pooling)."""
    if method not in EXPLAINERS:
        raise ValueError(f"method must be one of {tuple(EXPLAINERS)}, got {method!r}.")
    if method == "contribution" and pooling != "additive":
        raise ValueError(
            f"method='contribution' needs a model trained with pooling='additive' (whose bag logits "
            f"are sums of instance contributions); this one uses pooling={pooling!r}. Refit with "
            f"pooling='additive' or choose another method."
        )


def check_options(method, n_samples=None, alpha=None, beta=None):
    """MILLI's :class:`MilliSampling` from the options given (None: the default).

    Only ``method="milli"`` takes options; another method given one is refused.
    """
    given = {name: value for name, value in (("n_samples", n_samples), ("alpha", alpha), ("beta", beta))
             if value is not None}
    if given and method != "milli":
        raise ValueError(f"{', '.join(given)} {'is an option' if len(given) == 1 else 'are options'} of "
                         f"method='milli' only; method={method!r} takes none.")
    return MilliSampling(**given)


def check_target(target, n_bags, n_classes):
    """``None`` or an int64 array of one class index per bag (captum's convention)."""
    if target is None:
        return None
    values = np.asarray(target)
    if values.ndim == 0:
        values = np.full(n_bags, values)
    if values.ndim != 1 or len(values) != n_bags or values.dtype.kind not in "iub":
        raise ValueError(
            f"target must be None (the predicted class), one class index, or one class index per "
            f"bag ({n_bags} bags); got {target!r}. Class indices are positions in classes_."
        )
    if values.size and (values.min() < 0 or values.max() >= n_classes):
        raise ValueError(
            f"target holds class indices outside 0..{n_classes - 1}: {np.unique(values).tolist()}. "
            f"Pass positions in classes_, not labels."
        )
    return values.astype(np.int64)


def explain_batch(module, x, mask, method, target=None, *, milli=MilliSampling(), generators=None):
    """Scores ``(E, B, N)`` of every instance of a padded batch (0 at padding).

    Parameters
    ----------
    module : AttentionMILNet
    x : torch.Tensor of shape (B, N, *instance_shape)
    mask : torch.BoolTensor of shape (B, N)
    method : str
        One of :data:`EXPLAINERS`.
    target : torch.LongTensor of shape (B,) or None
        Class index per bag; None explains each member's predicted class.
    milli : MilliSampling, default=MilliSampling()
        MILLI's sampling.
    generators : list of numpy.random.Generator, default=None
        MILLI: one generator per bag (seeded by the bag, so a bag's scores do
        not depend on the batch it is in); fresh ones when None.

    Returns
    -------
    scores : torch.Tensor of shape (E, B, N), float64
    """
    check_method(method, module.pooling_kind)
    if method in ("gradient_input", "integrated_gradients", "lrp", "milli") and module.n_members > 1:
        # Members read the same input, so one backward pass would add their
        # gradients, and MILLI samples its sub-bags from each member's own
        # ranking: explain each member on its own.
        return torch.cat([
            explain_batch(module.select(e), x, mask, method, target, milli=milli, generators=generators)
            for e in range(module.n_members)
        ])
    if method in ("gradient_input", "integrated_gradients", "lrp"):
        return _gradient_scores(module, x, mask, method, target).unsqueeze(0).double()
    with torch.no_grad():
        logits, attention, h = module(x, mask, return_features=True)
        targets = _targets(logits, target)
        if method == "attention":
            # Renormalised in float64: a float32 softmax over a very large bag
            # sums to 1 only within about 1e-4.
            scores = attention.double()
            scores = scores / scores.sum(dim=-1, keepdim=True)
        elif method == "attention_norm":
            scores = attention * h.norm(dim=-1)
            scores = scores / scores.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(scores.dtype).tiny)
        elif method == "contribution":
            contributions = attention.unsqueeze(-1) * module.instance_logits(h)
            scores = _pick(contributions, targets)
        elif method == "keep_one":
            scores = _keep_one(module, h, mask, targets)
        elif method == "milli":
            if generators is None:
                generators = [np.random.default_rng() for _ in range(len(mask))]
            scores = _milli(module, h, mask, targets, milli, generators)
        else:
            scores = _drop_one(module, h, mask, targets)
    return scores.double().masked_fill(~mask, 0.0)


def _targets(logits, target):
    """Class index per member and bag, ``(E, B)``."""
    if target is None:
        return logits.argmax(dim=-1)
    return target.to(logits.device).expand(logits.shape[0], -1)


def _pick(values, targets):
    """``values[e, b, n, targets[e, b]]`` for ``values`` of shape (E, B, N, C)."""
    index = targets[:, :, None, None].expand(*values.shape[:3], 1)
    return values.gather(-1, index).squeeze(-1)


def _target_and_rest(proba, targets):
    """``p_target`` and ``1 - p_target``, the latter summed over the other classes.

    Summing the others keeps ``1 - p_target`` exact when ``p_target`` rounds to
    1 (a logit margin above ~37 in float64), where a difference of two such
    probabilities would be 0.
    """
    chosen = proba.gather(-1, targets[..., None]).squeeze(-1)
    others = proba.scatter(-1, targets[..., None], 0.0).sum(dim=-1)
    return chosen, others


def _pooled_probabilities(module, h, masks):
    """Class probabilities ``(E, R, C)`` of one bag's features ``h`` (E, 1, N, H) pooled under
    each of ``masks`` (R, N), in chunks of bounded size; an all-False mask gets the uniform
    prediction (no evidence)."""
    n_rows, n_instances = masks.shape
    chunk = max(1, _CHUNK_ELEMENTS // (n_instances * h.shape[-1]))
    empty = ~masks.any(dim=1)
    masks = masks.clone()
    masks[empty] = True  # pooled, then overwritten: the masked softmax of nothing is NaN
    proba = []
    for start in range(0, n_rows, chunk):
        rows = masks[start : start + chunk]
        logits = module.pool(h.expand(-1, len(rows), -1, -1), rows)[0]
        # float64: a confident model's float32 probabilities round to exactly 1.
        proba.append(torch.softmax(logits.double(), dim=-1))
    proba = torch.cat(proba, dim=1)
    proba[:, empty] = 1.0 / proba.shape[-1]
    return proba


def _keep_one(module, h, mask, targets):
    # Every real instance as a bag of its own: its features pooled alone.
    bag_of, position = mask.nonzero(as_tuple=True)
    singles = h[:, bag_of, position].unsqueeze(2)
    alone = torch.softmax(module.pool(singles, mask.new_ones(len(bag_of), 1))[0].double(), dim=-1)
    scores = torch.zeros(module.n_members, *mask.shape, dtype=alone.dtype, device=mask.device)
    scores[:, bag_of, position] = _target_and_rest(alone, targets[:, bag_of])[0]
    return scores


def _drop_one_logits(module, h, mask):
    """Logits of every bag ``(E, B, C)`` and of every bag without instance ``m`` ``(E, B, N, C)``.

    Exact in O(N) per bag, from the features computed once: each pooling's
    result without one instance has a closed form. Softmax-weighted sums (attention
    and additive pooling): with ``w_m = exp(s_m - max s)``, the bag without ``i``
    pools ``(sum_m w_m v_m - w_i v_i) / (sum_m w_m - w_i)``. That difference is
    computed in float64 and loses precision only for an instance holding most of
    the weight, the one with the largest score, whose row is pooled directly.
    Max pooling: a class's bag logit without ``i`` is its second-largest
    instance evidence where ``i`` holds the largest.
    """
    n_members, n_bags, n_instances, _ = h.shape
    real = mask[None, :, :, None]
    if module.pooling_kind == "max":
        instance = module.instance_logits(h)
        evidence = (instance - instance[..., :1]).double().masked_fill(~real, float("-inf"))
        if n_instances == 1:
            evidence = torch.cat([evidence, torch.full_like(evidence, float("-inf"))], dim=2)
        top = evidence.topk(2, dim=2)
        first = top.values[:, :, :1]
        is_top = torch.arange(n_instances, device=h.device)[None, None, :, None] == top.indices[:, :, :1]
        return first[:, :, 0], torch.where(is_top, top.values[:, :, 1:], first)
    values = h if module.pooling_kind == "attention" else module.instance_logits(h)
    values = values.double()
    scores = module.pooling.scores(h).double().masked_fill(~mask, float("-inf"))
    weights = torch.exp(scores - scores.amax(dim=-1, keepdim=True))  # 0 at padding
    total = weights.sum(dim=-1)
    weighted = torch.einsum("ebn,ebnd->ebd", weights, values)
    without = (weighted[:, :, None] - weights[..., None] * values) / (total[..., None] - weights)[..., None]
    # The largest-score instance: pool the others directly.
    largest = scores.argmax(dim=-1)  # (E, B)
    others = scores.scatter(-1, largest[..., None], float("-inf"))
    others_weights = torch.exp(others - others.amax(dim=-1, keepdim=True)).nan_to_num(0.0)
    direct = torch.einsum("ebn,ebnd->ebd", others_weights, values) / others_weights.sum(dim=-1, keepdim=True)
    without.scatter_(2, largest[..., None, None].expand(-1, -1, 1, values.shape[-1]), direct[:, :, None])
    full = weighted / total[..., None]
    if module.pooling_kind == "additive":
        return full, without
    pooled = torch.cat([full[:, :, None], without], dim=2).to(h.dtype)
    logits = module.classifier(pooled.reshape(n_members, -1, pooled.shape[-1]))
    logits = logits.view(n_members, n_bags, n_instances + 1, -1).double()
    return logits[:, :, 0], logits[:, :, 1:]


def _drop_one(module, h, mask, targets):
    full_logits, without_logits = _drop_one_logits(module, h, mask)
    full, full_rest = _target_and_rest(torch.softmax(full_logits, dim=-1), targets)  # (E, B)
    per_instance = targets[..., None].expand(-1, -1, mask.shape[1])
    without, without_rest = _target_and_rest(torch.softmax(without_logits, dim=-1), per_instance)
    # A bag of one instance becomes empty: its prediction without evidence is
    # taken as uniform over the classes.
    single = mask.sum(dim=1) == 1
    n_classes = full_logits.shape[-1]
    without[:, single] = 1.0 / n_classes
    without_rest[:, single] = 1.0 - 1.0 / n_classes
    # p(full) - p(without) = (1 - p(without)) - (1 - p(full)): the second form keeps
    # its precision when both probabilities are close to 1.
    confident = (full > 0.5)[..., None]
    return torch.where(confident, without_rest - full_rest[..., None], full[..., None] - without)


def milli_inclusion(n_instances, alpha=MILLI_ALPHA, beta=MILLI_BETA):
    """MILLI's probability of keeping the instance of rank ``r`` in a sampled sub-bag.

    ``p(r) = (2 alpha - 1) (1 - r / k) exp(-beta r) + 1 - alpha`` with ``k = n - 1``
    (Early et al., 2022, for ``alpha < 0.5``, ``beta >= 0``): rank 0 (the instance
    that looks most important alone) is kept with probability ``alpha``, the last
    rank with ``1 - alpha``.

    Parameters
    ----------
    n_instances : int
        Instances in the bag.
    alpha, beta : float
        The curve's parameters.

    Returns
    -------
    p : ndarray of shape (n_instances,)
        Keep probability of every rank.

    Examples
    --------
    >>> from setlearn.nn._explain import milli_inclusion
    >>> milli_inclusion(3, alpha=0.1, beta=0.0).round(2).tolist()
    [0.1, 0.5, 0.9]
    """
    if n_instances == 1:
        return np.array([0.5])
    ranks = np.arange(n_instances)
    k = n_instances - 1
    return (2 * alpha - 1) * (1 - ranks / k) * np.exp(-beta * ranks) + 1 - alpha


def _milli(module, h, mask, targets, milli, generators):
    """MILLI of a one-member module: per bag, sample sub-bags, fit the weighted surrogate."""
    alone = _keep_one(module, h, mask, targets)[0]  # (B, N): the ranking evidence
    n_samples = milli.n_samples
    scores = torch.zeros(mask.shape, dtype=torch.float64, device=mask.device)
    for b, generator in enumerate(generators):
        real = mask[b].nonzero(as_tuple=True)[0]
        n = len(real)
        # Ranks by the instance's probability alone, ties (dead ReLU units make
        # them common) broken by the instance's features; the uniform draws are
        # indexed by rank, so permuting or padding the bag permutes the
        # sub-bags with it.
        features = h[0, b, real].cpu().double().numpy()
        order = np.lexsort((*features.T[::-1], -alone[b, real].cpu().numpy()))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        keep_p = milli_inclusion(n, milli.alpha, milli.beta)[rank]
        keep = generator.random((n_samples, n))[:, rank] < keep_p
        coalitions = torch.zeros(n_samples, mask.shape[1], dtype=torch.bool, device=mask.device)
        coalitions[:, real] = torch.from_numpy(keep).to(mask.device)
        proba = _pooled_probabilities(module, h[:, b : b + 1], coalitions)[0]
        outcome = _target_and_rest(proba, targets[0, b].expand(n_samples))[0].cpu().numpy()
        # The paper's coalition weight: the mean keep probability of its members
        # (an empty sub-bag: that of the whole bag).
        size = keep.sum(axis=1)
        weight = np.where(size > 0, (keep * keep_p).sum(axis=1) / np.maximum(size, 1), keep_p.mean())
        design = np.hstack([np.ones((n_samples, 1)), keep.astype(np.float64)]) * np.sqrt(weight)[:, None]
        # Minimum-norm least squares: fewer sub-bags than instances is allowed.
        coefficients = np.linalg.lstsq(design, outcome * np.sqrt(weight), rcond=None)[0]
        scores[b, real] = torch.from_numpy(coefficients[1:]).to(scores.device)
    return scores.unsqueeze(0)


def _gradient_scores(module, x, mask, method, target):
    """Gradient x input, xMIL-LRP or Integrated Gradients of a one-member module, ``(B, N)``."""
    x = x.detach().to(torch.get_default_dtype()).clone()
    with torch.no_grad():
        targets = _targets(module(x, mask)[0], target)[0]

    def target_logits(inputs, bag_mask):
        return module(inputs, bag_mask)[0][0]

    if method in ("gradient_input", "lrp"):
        x.requires_grad_(True)
        with lrp_rules(module) if method == "lrp" else contextlib.nullcontext():
            chosen = target_logits(x, mask).gather(1, targets[:, None]).sum()
            # Bags do not interact in a batch, so the gradient of the sum over bags
            # holds every bag's own gradient.
            (grad,) = torch.autograd.grad(chosen, x)
        attributions = grad * x
    else:
        try:
            from captum.attr import IntegratedGradients
        except ImportError as error:
            raise ImportError(
                "method='integrated_gradients' uses captum, the 'explain' extra; from a checkout of "
                "setlearn (it is not on PyPI): pip install -c constraints.txt \".[explain]\"."
            ) from error

        instance_size = int(np.prod(x.shape[2:]))
        internal_batch = max(x.shape[0], _CHUNK_ELEMENTS // (x.shape[1] * instance_size))
        attributions = IntegratedGradients(target_logits).attribute(
            x, baselines=torch.zeros_like(x), target=targets, additional_forward_args=(mask,),
            n_steps=IG_STEPS, method=IG_METHOD, internal_batch_size=internal_batch,
        )
    return attributions.detach().reshape(*mask.shape, -1).sum(dim=-1)


def explain_bags(net, dataset, method, target=None, batch_size=None, *, milli=MilliSampling(), random_state=0):
    """Per-bag scores ``(E, n_i)`` of every bag of ``dataset``, in its order.

    Parameters
    ----------
    net : BagNet
        A fitted net.
    dataset : BagDataset
    method : str
        One of :data:`EXPLAINERS`.
    target : ndarray of int64 of shape (len(dataset),) or None
        Class index per bag; None explains the predicted class.
    batch_size : int, default=None
        Bags per padded batch; the net's batch size when None.
    milli : MilliSampling, default=MilliSampling()
        MILLI's sampling (see :func:`check_options`).
    random_state : int, numpy.random.SeedSequence or None, default=0
        MILLI's sampling: bag ``i`` draws from a generator seeded by
        ``(random_state, i)``; None draws fresh randomness.

    Returns
    -------
    scores : list of ndarray of shape (E, n_i)
    """
    module = net.module_
    check_method(method, module.pooling_kind)
    seeds = np.random.SeedSequence(random_state).spawn(len(dataset)) if method == "milli" else None
    was_training = module.training
    module.train(False)
    sizes = dataset.data.sizes[dataset.indices]
    out = [None] * len(dataset)
    try:
        for positions, (Xi, _) in dataset.positioned_batches(batch_size or net.batch_size):
            x, mask = Xi["x"].to(net.device), Xi["mask"].to(net.device)
            if "index" in Xi:
                # Batches of distinct instances plus the slot -> instance index:
                # explainers perturb padded bags, so expand them.
                x = x[Xi["index"].to(net.device)]
            batch_target = None if target is None else torch.from_numpy(target[positions])
            generators = None if seeds is None else [np.random.default_rng(seeds[p]) for p in positions]
            scores = explain_batch(
                module, x, mask, method, batch_target, milli=milli, generators=generators
            ).cpu().numpy()
            for j, pos in enumerate(positions):
                out[pos] = scores[:, j, : sizes[pos]]
    finally:
        module.train(was_training)
    return out
