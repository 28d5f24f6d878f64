"""Explainers of a trained :class:`~setlearn.nn.AttentionMILNet`: one score per instance.

Every explainer works on the module's dense padded forward
(``module(x, mask)`` on bags padded to a common length) and returns scores of
shape ``(E, B, N)`` (members, bags, padded instances); padding positions are
stripped by :func:`explain_bags`. Perturbation explainers build their
perturbed bags as extra rows of one padded, masked batch, never one Python
forward per instance.

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
============================  ===========  =====================================================

For every method a larger score means "supports the target class more";
signed scores below 0 speak against it. Rank-based scores (iAUC-ROC, iAUC-PR)
rank the scores as returned: negative evidence ranks lowest, not by its size.
"""

import numpy as np
import torch

# kind of every method: "weights" are non-negative and sum to 1 per bag.
EXPLAINERS = {
    "attention": "weights",
    "attention_norm": "weights",
    "gradient_input": "signed",
    "integrated_gradients": "signed",
    "drop_one": "signed",
    "keep_one": "probability",
    "contribution": "signed",
}

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


def explain_batch(module, x, mask, method, target=None):
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

    Returns
    -------
    scores : torch.Tensor of shape (E, B, N), float64
    """
    check_method(method, module.pooling_kind)
    if method in ("gradient_input", "integrated_gradients"):
        if module.n_members > 1:
            # Members read the same input, so one backward pass would add their
            # gradients; explain each member on its own.
            return torch.cat([explain_batch(module.select(e), x, mask, method, target) for e in range(module.n_members)])
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
            scores = _keep_one(module, x, mask, targets)
        else:
            scores = _drop_one(module, x, mask, logits, targets)
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


def _probabilities(module, x, mask):
    # float64: a confident model's float32 probabilities round to exactly 1, and
    # many keep-one scores would tie at 1.
    return torch.softmax(module(x, mask)[0].double(), dim=-1)


def _target_and_rest(proba, targets):
    """``p_target`` and ``1 - p_target``, the latter summed over the other classes.

    Summing the others keeps ``1 - p_target`` exact when ``p_target`` rounds to
    1 (a logit margin above ~37 in float64), where a difference of two such
    probabilities would be 0.
    """
    chosen = proba.gather(-1, targets[..., None]).squeeze(-1)
    others = proba.scatter(-1, targets[..., None], 0.0).sum(dim=-1)
    return chosen, others


def _keep_one(module, x, mask, targets):
    # Every real instance as a bag of its own: one forward over single-instance bags.
    bag_of, position = mask.nonzero(as_tuple=True)
    singles = x[bag_of, position].unsqueeze(1)
    alone = _probabilities(module, singles, torch.ones(len(bag_of), 1, dtype=torch.bool, device=mask.device))
    scores = torch.zeros(module.n_members, *mask.shape, dtype=alone.dtype, device=mask.device)
    scores[:, bag_of, position] = _target_and_rest(alone, targets[:, bag_of])[0]
    return scores


def _drop_one(module, x, mask, logits, targets):
    # One row per real instance: its bag with that instance masked out. Rows are
    # processed in chunks of bounded size; each chunk is one padded forward.
    n_bags, n_instances = mask.shape
    full, full_rest = _target_and_rest(torch.softmax(logits.double(), dim=-1), targets)  # (E, B)
    bag_of, position = mask.nonzero(as_tuple=True)
    rows_mask = mask[bag_of].clone()
    rows_mask[torch.arange(len(bag_of)), position] = False
    empty = ~rows_mask.any(dim=1)
    # A bag of one instance becomes empty: its prediction without evidence is
    # taken as uniform over the classes (the masked softmax of nothing is NaN).
    rows_mask[empty] = mask[bag_of[empty]]
    instance_size = int(np.prod(x.shape[2:]))
    chunk = max(1, _CHUNK_ELEMENTS // (n_instances * instance_size))
    without, without_rest = [], []
    for start in range(0, len(bag_of), chunk):
        rows = slice(start, start + chunk)
        chosen, rest = _target_and_rest(_probabilities(module, x[bag_of[rows]], rows_mask[rows]), targets[:, bag_of[rows]])
        without.append(chosen)
        without_rest.append(rest)
    without, without_rest = torch.cat(without, dim=1), torch.cat(without_rest, dim=1)
    n_classes = logits.shape[-1]
    without[:, empty] = 1.0 / n_classes
    without_rest[:, empty] = 1.0 - 1.0 / n_classes
    # p(full) - p(without) = (1 - p(without)) - (1 - p(full)): the second form keeps
    # its precision when both probabilities are close to 1.
    confident = full[:, bag_of] > 0.5
    delta = torch.where(confident, without_rest - full_rest[:, bag_of], full[:, bag_of] - without)
    scores = torch.zeros(module.n_members, n_bags, n_instances, dtype=delta.dtype, device=mask.device)
    scores[:, bag_of, position] = delta
    return scores


def _gradient_scores(module, x, mask, method, target):
    """Gradient x input or Integrated Gradients of a one-member module, ``(B, N)``."""
    x = x.detach().to(torch.get_default_dtype()).clone()
    with torch.no_grad():
        targets = _targets(module(x, mask)[0], target)[0]

    def target_logits(inputs, bag_mask):
        return module(inputs, bag_mask)[0][0]

    if method == "gradient_input":
        x.requires_grad_(True)
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


def explain_bags(net, dataset, method, target=None, batch_size=None):
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

    Returns
    -------
    scores : list of ndarray of shape (E, n_i)
    """
    module = net.module_
    check_method(method, module.pooling_kind)
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
            scores = explain_batch(module, x, mask, method, batch_target).cpu().numpy()
            for j, pos in enumerate(positions):
                out[pos] = scores[:, j, : sizes[pos]]
    finally:
        module.train(was_training)
    return out
