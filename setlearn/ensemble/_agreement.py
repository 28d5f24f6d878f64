"""Combining members' attention, and how much the members agree."""

import warnings

import numpy as np
from scipy.stats import rankdata, weightedtau



COMBINATION_RULES = ("mean", "median", "vote")


class AttentionDisagreementWarning(UserWarning):
    """The members of an ensemble rank the instances of the bags very differently.

    Issued by :meth:`AttentionEnsemble.explain` when the mean pairwise
    agreement of the members falls below ``agreement_threshold``: a sign,
    without any ground truth, that the explanation deserves less trust.

    Examples
    --------
    Turn the warning into an error, e.g. in a pipeline that must not publish
    doubtful explanations:

    >>> import warnings
    >>> from setlearn import AttentionDisagreementWarning
    >>> warnings.simplefilter("error", AttentionDisagreementWarning)
    >>> warnings.resetwarnings()
    """


def combine_attention(member_attentions, rule="mean"):
    """Combine the attention of several models into one explanation per bag.

    Parameters
    ----------
    member_attentions : list of list of ndarray
        ``member_attentions[m][b]`` is member ``m``'s attention over the
        instances of bag ``b``.
    rule : {"mean", "median", "vote"}, default="mean"
        ``"mean"`` averages the weights (the study's rule). ``"median"`` takes
        the instance-wise median, renormalised. ``"vote"`` is a majority vote:
        every member votes for the instances it weighs above an equal share
        (``1 / n_instances``), and an instance's weight is its share of the
        votes; it ignores how extreme a single member's weights are.

    Returns
    -------
    attention : list of ndarray
        One 1-D array per bag, non-negative, summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> a = [[np.array([0.7, 0.2, 0.1])], [np.array([0.5, 0.1, 0.4])]]
    >>> combine_attention(a)[0].round(2).tolist()
    [0.6, 0.15, 0.25]
    >>> combine_attention(a, rule="vote")[0].round(2).tolist()
    [0.67, 0.0, 0.33]
    """
    return combine_scores(member_attentions, rule, normalized=True)


def combine_scores(member_scores, rule="mean", *, normalized=False):
    """Combine several models' instance scores (any explainer) into one per bag.

    The rules of :func:`combine_attention`, for scores that need not be
    weights: signed scores (gradients, drop-one) cannot be renormalised to
    sum to 1, so only ``normalized=True`` renormalises.

    Parameters
    ----------
    member_scores : list of list of ndarray
        ``member_scores[m][b]``: member ``m``'s scores over bag ``b``.
    rule : {"mean", "median", "vote"}, default="mean"
        ``"mean"`` / ``"median"``: instance-wise mean / median. ``"vote"``:
        every member votes for the instances it scores at or above its own
        mean over the bag (for weights that sum to 1, an equal share), and an
        instance's score is its share of the votes.
    normalized : bool, default=False
        The scores are non-negative weights summing to 1 per bag (attention);
        the result is renormalised to sum to 1, and a median that is 0
        everywhere falls back to the mean.

    Returns
    -------
    scores : list of ndarray
        One 1-D array per bag.

    Examples
    --------
    >>> import numpy as np
    >>> s = [[np.array([0.3, -0.1, 0.0])], [np.array([0.1, -0.3, 0.2])]]
    >>> combine_scores(s)[0].round(2).tolist()
    [0.2, -0.2, 0.1]
    >>> combine_scores(s, rule="vote")[0].round(2).tolist()
    [1.0, 0.0, 0.5]
    """
    if rule not in COMBINATION_RULES:
        raise ValueError(f"rule must be one of {COMBINATION_RULES}, got {rule!r}.")
    if rule == "mean" and _same_bags(member_scores):
        # All bags in one stacked mean (the assessment combines thousands of ensembles' scores):
        # the same numbers as bag by bag, since each instance's mean is the same reduction.
        sizes = [len(a) for a in member_scores[0]]
        mean = np.stack([np.concatenate(m) for m in member_scores]).mean(axis=0)
        bags = np.split(mean, np.cumsum(sizes)[:-1])
        return [bag / bag.sum() for bag in bags] if normalized else bags
    combined = []
    for scores in _per_bag_stacks(member_scores):
        if rule == "mean":
            bag = scores.mean(axis=0)
        elif rule == "median":
            bag = np.median(scores, axis=0)
            if normalized and bag.sum() == 0:
                # Members peaked on different instances: every median is 0.
                bag = scores.mean(axis=0)
        else:
            bag = _above_equal_share(scores).mean(axis=0)
        combined.append(bag / bag.sum() if normalized else bag)
    return combined


def _same_bags(member_scores):
    """Every member scores the same number of bags, of the same lengths."""
    if len(member_scores) == 0 or len(member_scores[0]) == 0:
        return False
    sizes = [len(a) for a in member_scores[0]]
    return all([len(a) for a in m] == sizes for m in member_scores[1:])


def _per_bag_stacks(member_attentions):
    """Yield, per bag, the members' attention as one (n_members, n_instances) array."""
    if len(member_attentions) == 0:
        raise ValueError("The attention of at least one member is needed.")
    n_bags = {len(m) for m in member_attentions}
    if len(n_bags) != 1:
        raise ValueError(f"Every member must explain the same bags; got {sorted(n_bags)} bags.")
    for b, per_member in enumerate(zip(*member_attentions)):
        sizes = {len(a) for a in per_member}
        if len(sizes) != 1:
            raise ValueError(f"The members' attention for bag {b} has different lengths {sorted(sizes)}.")
        yield np.stack(per_member)


def _above_equal_share(weights):
    """Per member, the instances scored at or above the member's mean over the bag.

    For weights that sum to 1 the mean is an equal share, ``1 / n_instances``.
    """
    mean = weights.mean(axis=1, keepdims=True)
    # Relative tolerance: softmax weights of a uniform bag are 1/n only up to rounding.
    return weights >= mean - 1e-6 * np.abs(mean)


def _spearman(weights):
    ranks = rankdata(weights, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.corrcoef(ranks)


def _weighted_tau(weights):
    n = len(weights)
    out = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = weightedtau(weights[i], weights[j]).statistic
    return out


def _top_overlap(weights):
    top = _above_equal_share(weights).astype(float)
    shared = top @ top.T
    union = top.sum(axis=1)[:, None] + top.sum(axis=1)[None, :] - shared
    return shared / union


AGREEMENT_MEASURES = {"spearman": _spearman, "weighted_tau": _weighted_tau, "top_overlap": _top_overlap}


def pairwise_agreement(member_attentions, measure="weighted_tau"):
    """Agreement between every pair of members, for every bag.

    Parameters
    ----------
    member_attentions : list of list of ndarray
        ``member_attentions[m][b]``: member ``m``'s attention over bag ``b``.
    measure : {"weighted_tau", "spearman", "top_overlap"}, default="weighted_tau"
        ``"weighted_tau"``: scipy's weighted Kendall tau, which counts
        disagreements about the most attended instances more than those about
        the rest; ``"spearman"``: rank correlation over all instances;
        ``"top_overlap"``: Jaccard overlap of the instances each member weighs
        above an equal share.

    Returns
    -------
    agreement : ndarray of shape (n_bags, n_members, n_members)
        NaN for bags of one instance; a member whose attention is constant
        over a bag ranks nothing and gets agreement 0 with the others there.

    Examples
    --------
    >>> import numpy as np
    >>> a = [[np.array([0.6, 0.3, 0.1])], [np.array([0.5, 0.4, 0.1])]]
    >>> float(pairwise_agreement(a, "spearman")[0, 0, 1])
    1.0
    """
    if measure not in AGREEMENT_MEASURES:
        raise ValueError(f"measure must be one of {sorted(AGREEMENT_MEASURES)}, got {measure!r}.")
    n = len(member_attentions)
    out = []
    for weights in _per_bag_stacks(member_attentions):
        if weights.shape[1] < 2:
            out.append(np.full((n, n), np.nan))
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            pairwise = AGREEMENT_MEASURES[measure](weights)
        # A member with constant attention ranks nothing: it agrees with no one,
        # rather than dropping out of the average unnoticed.
        out.append(np.where(np.isnan(pairwise), 0.0, pairwise))
    return np.array(out).reshape(len(out), n, n)


# Activation elements of the widest featurizer layer in one training step, all
# stacked members together (about 4 MB). Beyond it, a stacked step stops fitting
# in cache and members train faster one by one: measured per member and step,
# 20 stacked small MLPs cost 0.2x a single one, but 20 digit CNNs 1.5x


def _bag_agreement(pairwise):
    n = pairwise.shape[1]
    upper = np.triu_indices(n, k=1)
    values = pairwise[:, upper[0], upper[1]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=1) if n > 1 else np.full(len(pairwise), np.nan)
