"""Explainers against brute-force references on tiny models; invariances; errors."""

import numpy as np
import pytest
import torch

from setlearn import AttentionMILClassifier
from setlearn.nn import AttentionMILNet
from setlearn.nn._explain import (EXPLAINERS, IG_STEPS, MILLI_ALPHA, MILLI_BETA, MilliSampling, explain_batch,
                                  milli_inclusion)
from setlearn.nn._lrp import LRP_EPSILON, lrp_rules
from setlearn.utils._testing import presence_bags

# classifier_depth=2: with a linear classifier additive pooling equals attention pooling.
TINY = dict(hidden_size=6, attention_size=3, classifier_depth=2, max_epochs=20, batch_size=8, random_state=0)
POOLINGS = ("attention", "additive", "max")


def _methods(pooling):
    return [m for m in EXPLAINERS if m != "contribution" or pooling == "additive"]


@pytest.fixture(scope="module")
def data():
    return presence_bags(n_bags=16, sizes=(1, 3, 5, 8), random_state=1)


@pytest.fixture(scope="module", params=POOLINGS)
def fitted(request, data):
    X, y, _ = data
    return AttentionMILClassifier(pooling=request.param, **TINY).fit(X, y)


def _one_bag(clf, bag):
    """Logits (C,), attention (n,), features (n, H) of one unpadded bag."""
    module = clf.net_.module_.eval()
    x = torch.from_numpy(bag)[None]
    mask = torch.ones(1, len(bag), dtype=torch.bool)
    logits, attention, h = module(x, mask, return_features=True)
    return logits[0, 0], attention[0, 0], h[0, 0]


def _proba(clf, bag):
    with torch.no_grad():
        return torch.softmax(_one_bag(clf, bag)[0].double(), dim=-1)


def _reference(clf, bag, method, target):
    """Brute force: one unpadded forward (or autograd pass) per bag and instance."""
    n = len(bag)
    if method in ("attention", "attention_norm", "contribution"):
        with torch.no_grad():
            logits, attention, h = _one_bag(clf, bag)
            if method == "attention":
                return attention.numpy()
            if method == "attention_norm":
                raw = attention * h.norm(dim=-1)
                return (raw / raw.sum()).numpy()
            instance_logits = clf.net_.module_.classifier(h[None])[0]
            return (attention[:, None] * instance_logits)[:, target].numpy()
    if method == "keep_one":
        return np.array([_proba(clf, bag[m : m + 1])[target].item() for m in range(n)])
    if method == "drop_one":
        full = _proba(clf, bag)[target].item()
        if n == 1:
            return np.array([full - 0.5])
        return np.array([full - _proba(clf, np.delete(bag, m, axis=0))[target].item() for m in range(n)])
    if method == "lrp":
        return _lrp_reference(clf.net_.module_, bag, target)
    x = torch.from_numpy(bag).double()
    module = clf.net_.module_.double()
    mask = torch.ones(1, n, dtype=torch.bool)

    def grad_at(point):
        point = point.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(module(point[None], mask)[0][0, 0, target], point)
        return grad

    try:
        if method == "gradient_input":
            return (grad_at(x) * x).sum(dim=1).numpy()
        # Integrated gradients: the midpoint rule from the zero baseline, one
        # autograd pass per step.
        total = sum(grad_at(x * (k + 0.5) / IG_STEPS) for k in range(IG_STEPS)) / IG_STEPS
        return (total * x).sum(dim=1).numpy()
    finally:
        module.float()


def _layers(sequential):
    """(weight, bias) of every linear layer of a one-member MLP, in order (ReLU between)."""
    return [(layer.weight[0].detach().double().numpy(), layer.bias[0, 0].detach().double().numpy())
            for layer in sequential if hasattr(layer, "weight")]


def _propagate(layers, inputs, relevance_of_output, epsilon, final_relu=False):
    """LRP-epsilon backwards through ``linear (ReLU linear)*`` from output relevances, explicitly:
    R_j = a_j * sum_k w_jk R_k / (z_k + eps sign z_k)."""
    activations, pre = [inputs], []
    for i, (weight, bias) in enumerate(layers):
        z = activations[-1] @ weight + bias
        pre.append(z)
        activations.append(np.maximum(z, 0) if final_relu or i < len(layers) - 1 else z)
    relevance = relevance_of_output(activations[-1])
    for (weight, _), z, a in zip(layers[::-1], pre[::-1], activations[-2::-1]):
        stabilised = z + epsilon * np.where(z >= 0, 1.0, -1.0)
        relevance = a * ((relevance / stabilised) @ weight.T)
    return relevance


def _lrp_reference(module, bag, target, epsilon=LRP_EPSILON):
    """xMIL-LRP of one unpadded bag written out layer by layer in float64 (MLP featurizer)."""
    featurizer, classifier = _layers(module.featurizer.layers), _layers(module.classifier)
    with torch.no_grad():
        _, attention, h32 = module.eval()(torch.from_numpy(bag)[None], torch.ones(1, len(bag), dtype=torch.bool),
                                          return_features=True)
    a = attention[0, 0].double().numpy()
    h = h32[0, 0].double().numpy()
    if module.pooling_kind == "attention":
        pooled = a @ h
        r_pooled = _propagate(classifier, pooled, lambda out: np.eye(len(out))[target] * out, epsilon)
        # The attention-weighted sum holds attention constant: R_mj = a_m h_mj / pooled_j * R_j.
        r_h = a[:, None] * h * np.divide(r_pooled, pooled, out=np.zeros_like(pooled), where=pooled != 0)
    else:
        def output_relevance(out):
            relevance = np.zeros_like(out)
            if module.pooling_kind == "additive":
                relevance[:, target] = a * out[:, target]
            elif target != 0:
                # Max pooling: the instance with the largest evidence z_t - z_0 takes it all.
                winner = np.argmax(out[:, target] - out[:, 0])
                relevance[winner, target], relevance[winner, 0] = out[winner, target], -out[winner, 0]
            return relevance

        r_h = _propagate(classifier, h, output_relevance, epsilon)
    # The featurizer ends in a ReLU: its output relevances enter after the last activation.
    return _propagate(featurizer, bag.astype(np.float64), lambda out: r_h, epsilon, final_relu=True).sum(axis=1)


@pytest.mark.parametrize("method", [m for m in EXPLAINERS if m != "milli"])
def test_every_method_matches_brute_force_reference(fitted, data, method):
    if method not in _methods(fitted.pooling):
        pytest.skip("contribution needs additive pooling")
    X, _, _ = data
    predicted = fitted.predict_proba(X).argmax(axis=1)
    scores = fitted.explain(X, method=method)
    other = fitted.explain(X, method=method, target=1 - predicted)
    # LRP divides by pre-activations: float32 against float64 loses a little more.
    tol = dict(rtol=1e-3, atol=1e-5) if method == "lrp" else dict(rtol=1e-4, atol=1e-5)
    for i, bag in enumerate(X):
        assert scores[i].shape == (len(bag),)
        np.testing.assert_allclose(scores[i], _reference(fitted, bag, method, predicted[i]), **tol)
        np.testing.assert_allclose(other[i], _reference(fitted, bag, method, 1 - predicted[i]), **tol)


@pytest.mark.parametrize("method", list(EXPLAINERS))
def test_padding_and_order_invariance(fitted, data, method):
    if method not in _methods(fitted.pooling):
        pytest.skip("contribution needs additive pooling")
    X, _, _ = data
    bag = X[2]
    long_bag = max(X, key=len)
    alone = fitted.explain([bag], method=method, target=1)[0]
    # In one batch with a longer bag, ``bag`` is padded.
    padded = fitted.explain([bag, long_bag], method=method, target=1)[0]
    order = np.random.default_rng(0).permutation(len(bag))
    permuted = fitted.explain([bag[order]], method=method, target=1)[0]
    np.testing.assert_allclose(padded, alone, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(permuted, alone[order], rtol=1e-4, atol=1e-6)


def test_weights_sum_to_one_and_contributions_sum_to_the_logit(data):
    X, y, _ = data
    clf = AttentionMILClassifier(pooling="additive", **TINY).fit(X, y)
    for target in (0, 1):
        contributions = clf.explain(X, method="contribution", target=target)
        with torch.no_grad():
            for i, bag in enumerate(X):
                logit = _one_bag(clf, bag)[0][target].item()
                assert contributions[i].sum() == pytest.approx(logit, rel=1e-5, abs=1e-6)
    for method in ("attention", "attention_norm"):
        assert all(s.sum() == pytest.approx(1.0) and (s >= 0).all() for s in clf.explain(X, method=method))


def test_max_pooling_respects_the_standard_mil_assumption():
    # Adding an instance can only raise the evidence for the positive class.
    torch.manual_seed(0)
    net = AttentionMILNet((3,), 2, hidden_size=5, attention_size=2, featurizer_depth=1,
                          classifier_depth=2, pooling="max", seeds=[0])
    x = torch.randn(40, 4, 3)
    mask = torch.ones(40, 4, dtype=torch.bool)
    mask[:, -1] = False
    with torch.no_grad():
        without, _ = net(x, mask)
        with_extra, selected = net(x, torch.ones(40, 4, dtype=torch.bool))
    assert (with_extra[0, :, 1] - with_extra[0, :, 0] >= without[0, :, 1] - without[0, :, 0] - 1e-6).all()
    assert torch.allclose(selected.sum(dim=-1), torch.ones(1, 40))
    # The weight sits on the instance(s) with the strongest positive evidence.
    with torch.no_grad():
        _, _, h = net(x, torch.ones(40, 4, dtype=torch.bool), return_features=True)
        instance = net.instance_logits(h)[0]
    evidence = instance[..., 1] - instance[..., 0]
    assert (selected[0].argmax(dim=-1) == evidence.argmax(dim=-1)).all()


def test_perturbation_scores_do_not_saturate_for_confident_models():
    # Logit margins of 10 to 80: the predicted class's probability is exactly 1
    # in float32, and in float64 too beyond a margin of ~37.
    torch.manual_seed(0)
    net = AttentionMILNet((2,), 2, hidden_size=4, attention_size=2, featurizer_depth=1,
                          classifier_depth=1, seeds=[0]).eval()
    with torch.no_grad():
        net.classifier[0].weight.mul_(200.0)
    x = torch.randn(4, 6, 2)
    mask = torch.ones(4, 6, dtype=torch.bool)
    with torch.no_grad():
        logits = net(x, mask)[0]
    assert (torch.softmax(logits.double(), dim=-1).max(dim=-1).values == 1).all()
    for target in (None, torch.zeros(4, dtype=torch.long)):
        scores = explain_batch(net, x, mask, "drop_one", target)
        assert (scores != 0).all()
        # Two classes: p_target = sigmoid(z_target - z_other), so p(full) - p(without)
        # has the sign of the change in that logit margin, which never saturates.
        for b in range(4):
            for m in range(6):
                keep = torch.arange(6) != m
                with torch.no_grad():
                    reduced = net(x[b : b + 1, keep], mask[b : b + 1, keep])[0][0, 0]
                t = int(logits[0, b].argmax()) if target is None else 0
                margin_full = logits[0, b, t] - logits[0, b, 1 - t]
                margin_without = reduced[t] - reduced[1 - t]
                assert torch.sign(scores[0, b, m]) == torch.sign(margin_full - margin_without)


def test_stacked_members_are_explained_one_by_one():
    net = AttentionMILNet((3,), 2, hidden_size=5, attention_size=2, featurizer_depth=1,
                          classifier_depth=1, n_members=2, seeds=[0, 1]).eval()
    x = torch.randn(3, 4, 3)
    mask = torch.ones(3, 4, dtype=torch.bool)
    mask[0, 2:] = False
    target = torch.tensor([1, 0, 1])
    for method in ("gradient_input", "drop_one", "keep_one", "attention_norm"):
        both = explain_batch(net, x, mask, method, target)
        for e in range(2):
            np.testing.assert_allclose(both[e], explain_batch(net.select(e), x, mask, method, target)[0], atol=1e-6)


def test_integrated_gradients_is_complete(data):
    X, y, _ = data
    clf = AttentionMILClassifier(**TINY).fit(X, y)
    bag = X[3]
    scores = clf.explain([bag], method="integrated_gradients", target=1)[0]
    with torch.no_grad():
        gap = _one_bag(clf, bag)[0][1] - _one_bag(clf, np.zeros_like(bag))[0][1]
    # 50 midpoint steps on a ReLU network: complete up to the quadrature error.
    assert scores.sum() == pytest.approx(gap.item(), rel=5e-2, abs=1e-2)


def test_bad_method_and_target_errors(data):
    X, y, _ = data
    clf = AttentionMILClassifier(**TINY).fit(X, y)
    with pytest.raises(ValueError, match="method must be one of"):
        clf.explain(X, method="shap")
    with pytest.raises(ValueError, match="n_samples is an option of method='milli' only"):
        clf.explain(X, method="drop_one", n_samples=10)
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        clf.explain(X, method="milli", n_samples=0)
    with pytest.raises(ValueError, match="alpha, beta are options of method='milli' only"):
        clf.explain(X, method="attention", alpha=0.1, beta=0.0)
    for alpha in (0.5, -0.1, float("nan"), True):
        with pytest.raises(ValueError, match=r"alpha must be a float in \[0, 0.5\)"):
            clf.explain(X, method="milli", alpha=alpha)
    with pytest.raises(ValueError, match="beta must be a finite float >= 0"):
        clf.explain(X, method="milli", beta=-1.0)
    with pytest.raises(ValueError, match="pooling='additive'"):
        clf.explain(X, method="contribution")
    with pytest.raises(ValueError, match="outside 0..1"):
        clf.explain(X, method="drop_one", target=2)
    with pytest.raises(ValueError, match="one class index per bag"):
        clf.explain(X, method="drop_one", target=[0, 1])
    with pytest.raises(ValueError, match="pooling must be one of"):
        AttentionMILNet((3,), 2, hidden_size=2, attention_size=2, featurizer_depth=1,
                        classifier_depth=1, pooling="mean", seeds=[0])


def _bias_free(net):
    with torch.no_grad():
        for name, param in net.named_parameters():
            if name.endswith("bias"):
                param.zero_()
    return net.eval()


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("featurizer, instance_shape", [("mlp", (3,)), ("cnn", (6, 6))])
def test_lrp_conserves_the_logit_of_a_bias_free_net(pooling, featurizer, instance_shape):
    # Without biases and with epsilon=0, the relevances of a bag's instances sum
    # exactly to the explained logit (LRP-0 through ReLU, max pooling and a
    # constant-attention weighted sum is a homogeneous linear map).
    net = _bias_free(AttentionMILNet(instance_shape, 2, hidden_size=5, attention_size=3, featurizer_depth=2,
                                     classifier_depth=2, featurizer=featurizer, pooling=pooling, seeds=[3]))
    x = torch.randn(4, 6, *instance_shape, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[1, 3:] = False
    with torch.no_grad():
        logits = net(x, mask)[0][0]
    for target in (0, 1):
        xg = x.clone().requires_grad_(True)
        with lrp_rules(net, epsilon=0.0):
            (grad,) = torch.autograd.grad(net(xg, mask)[0][0, :, target].sum(), xg)
        relevance = (grad * x).reshape(4, 6, -1).sum(dim=-1).masked_fill(~mask, 0.0).sum(dim=1)
        torch.testing.assert_close(relevance, logits[:, target], rtol=1e-4, atol=1e-6)
    # The rule matters: plain gradient x input (attention not constant) does not conserve.
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(xg, mask)[0][0, :, 1].sum(), xg)
    plain = (grad * x).reshape(4, 6, -1).sum(dim=-1).masked_fill(~mask, 0.0).sum(dim=1)
    if pooling != "max":
        assert (plain - logits[:, 1]).abs().max() > 100 * (relevance - logits[:, 1]).abs().max()


def test_lrp_refuses_a_featurizer_without_rules(data):
    X, y, _ = data

    class Scaled(torch.nn.Module):
        def forward(self, x):
            return torch.tanh(x) * 2

    clf = AttentionMILClassifier(featurizer=torch.nn.Sequential(torch.nn.Linear(4, 4), Scaled()),
                                 **{**TINY, "max_epochs": 1}).fit(X, y)
    with pytest.raises(ValueError, match="holds a Scaled"):
        clf.explain(X, method="lrp")
    ok = AttentionMILClassifier(featurizer=torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU()),
                                **{**TINY, "max_epochs": 1}).fit(X, y)
    assert all(np.isfinite(s).all() for s in ok.explain(X, method="lrp"))


def _milli_reference(clf, bag, target, n_samples, seed, alpha=MILLI_ALPHA, beta=MILLI_BETA):
    """MILLI of one unpadded bag: keep-one ranking, the inclusion curve, one forward per sub-bag."""
    n = len(bag)
    alone = np.array([_proba(clf, bag[m : m + 1])[target].item() for m in range(n)])
    with torch.no_grad():
        features = _one_bag(clf, bag)[2].double().numpy()
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((*features.T[::-1], -alone))] = np.arange(n)
    keep_p = milli_inclusion(n, alpha, beta)[rank]
    keep = np.random.default_rng(seed).random((n_samples, n))[:, rank] < keep_p
    outcome = np.array([_proba(clf, bag[row])[target].item() if row.any() else 0.5 for row in keep])
    size = keep.sum(axis=1)
    weight = np.where(size > 0, (keep * keep_p).sum(axis=1) / np.maximum(size, 1), keep_p.mean())
    design = np.hstack([np.ones((n_samples, 1)), keep]) * np.sqrt(weight)[:, None]
    return np.linalg.lstsq(design, outcome * np.sqrt(weight), rcond=None)[0][1:]


def test_milli_matches_unbatched_reference_and_is_seeded(fitted, data):
    X, _, _ = data
    X = X[:6]
    scores = fitted.explain(X, method="milli", target=1, n_samples=40, random_state=7)
    seeds = np.random.SeedSequence(7).spawn(len(X))
    for i, bag in enumerate(X):
        np.testing.assert_allclose(scores[i], _milli_reference(fitted, bag, 1, 40, seeds[i]), rtol=1e-3, atol=1e-6)
    again = fitted.explain(X, method="milli", target=1, n_samples=40, random_state=7)
    other = fitted.explain(X, method="milli", target=1, n_samples=40, random_state=8)
    assert all(np.array_equal(a, b) for a, b in zip(scores, again))
    assert not all(np.allclose(a, b) for a, b in zip(scores, other) if len(a) > 1)


def test_milli_samples_with_the_inclusion_curve_it_is_given(fitted, data):
    X, _, _ = data
    X = X[:4]
    curve = {"alpha": 0.3, "beta": 0.5}
    scores = fitted.explain(X, method="milli", target=1, n_samples=40, random_state=7, **curve)
    seeds = np.random.SeedSequence(7).spawn(len(X))
    for i, bag in enumerate(X):
        np.testing.assert_allclose(scores[i], _milli_reference(fitted, bag, 1, 40, seeds[i], **curve),
                                   rtol=1e-3, atol=1e-6)
    default = fitted.explain(X, method="milli", target=1, n_samples=40, random_state=7)
    assert not all(np.allclose(a, b) for a, b in zip(scores, default) if len(a) > 1)


def test_milli_finds_the_witness_of_a_presence_model():
    # A hand-set additive model whose bag logit counts instances with x > 0:
    # MILLI's largest coefficient must sit on that instance in every bag.
    net = AttentionMILNet((1,), 2, hidden_size=1, attention_size=1, featurizer_depth=1, classifier_depth=1,
                          attention="mean", pooling="max", seeds=[0]).eval()
    with torch.no_grad():
        net.featurizer.layers[0].weight.fill_(1.0)
        net.featurizer.layers[0].bias.zero_()
        net.classifier[0].weight.copy_(torch.tensor([[[0.0, 8.0]]]))
        net.classifier[0].bias.copy_(torch.tensor([[[0.0, -2.0]]]))
    x = -torch.rand(5, 9, 1, generator=torch.Generator().manual_seed(0))
    witness = torch.arange(5) % 9
    x[torch.arange(5), witness] = 1.0
    mask = torch.ones(5, 9, dtype=torch.bool)
    generators = [np.random.default_rng(i) for i in range(5)]
    scores = explain_batch(net, x, mask, "milli", torch.ones(5, dtype=torch.long), milli=MilliSampling(n_samples=100),
                           generators=generators)
    assert (scores[0].argmax(dim=1) == witness).all()


def test_drop_one_is_exact_and_linear_on_a_large_bag():
    # One bag of 20,000 instances: the closed form touches each instance once
    # (no 20,000 x 20,000 batch); spot-check it against re-pooled bags.
    net = AttentionMILNet((3,), 2, hidden_size=4, attention_size=2, featurizer_depth=1, classifier_depth=1,
                          seeds=[0]).eval()
    x = torch.randn(1, 20_000, 3, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(1, 20_000, dtype=torch.bool)
    scores = explain_batch(net, x, mask, "drop_one", torch.tensor([1]))[0, 0]
    full = torch.softmax(net(x, mask)[0][0, 0].double(), dim=-1)[1]
    for m in (0, 123, 19_999, int(scores.abs().argmax())):
        keep = torch.arange(20_000) != m
        with torch.no_grad():
            without = torch.softmax(net(x[:, keep], mask[:, keep])[0][0, 0].double(), dim=-1)[1]
        assert scores[m].item() == pytest.approx((full - without).item(), rel=1e-3, abs=1e-7)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_drop_one_of_a_dominant_instance_keeps_its_precision(pooling):
    # One instance holds nearly all the attention (1 - a ~ 1e-12): the bag
    # without it must still be pooled from the others, not from a cancellation.
    net = AttentionMILNet((2,), 2, hidden_size=3, attention_size=2, featurizer_depth=1, classifier_depth=2,
                          pooling=pooling, seeds=[1]).eval()
    x = torch.randn(1, 5, 2, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(1, 5, dtype=torch.bool)
    with torch.no_grad():
        net.pooling.w.weight.mul_(1e3)
        attention = net(x, mask)[1][0, 0]
    dominant = int(attention.argmax())
    scores = explain_batch(net, x, mask, "drop_one", torch.tensor([1]))[0, 0]
    keep = torch.arange(5) != dominant
    with torch.no_grad():
        full = torch.softmax(net(x, mask)[0][0, 0].double(), dim=-1)[1]
        without = torch.softmax(net(x[:, keep], mask[:, keep])[0][0, 0].double(), dim=-1)[1]
    assert scores[dominant].item() == pytest.approx((full - without).item(), rel=1e-4, abs=1e-7)
