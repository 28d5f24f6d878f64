import numpy as np
import pytest
import torch
from torch import nn

from setlearn import AttentionEnsemble, AttentionMILClassifier
from setlearn.bags import PaddedBags
from setlearn.bags import _padding
from setlearn.nn import AttentionMILNet, BagDataset

FAST = dict(hidden_size=8, attention_size=4, max_epochs=4, batch_size=8, random_state=0)


def pool_bags(n_bags=32, image_shape=(6, 6), pool_size=25, sizes=(5, 9, 14), random_state=0):
    """Bags drawn from a finite pool of instances; positive bags hold a bright pool item."""
    rng = np.random.default_rng(random_state)
    pool = rng.normal(size=(pool_size, *image_shape)).astype(np.float32)
    pool[:5] += 2.0  # the pool's "important" items
    X, y = [], np.arange(n_bags) % 2
    for label in y:
        draws = rng.integers(5, pool_size, size=int(rng.choice(sizes)))
        if label:
            draws[0] = rng.integers(0, 5)
        X.append(pool[draws])
    return X, y


def _fit_both_ways(monkeypatch, make, X, y):
    """The same fit with every slot featurized (today's path) and with each distinct instance once."""
    monkeypatch.setattr(_padding, "_DISTINCT_MAX_FRACTION", 0.0)
    per_slot = make().fit(X, y)
    assert PaddedBags(X).n_distinct is None
    monkeypatch.setattr(_padding, "_DISTINCT_MAX_FRACTION", 1.0)
    distinct = make().fit(X, y)
    assert PaddedBags(X).n_distinct is not None
    return per_slot, distinct


@pytest.mark.parametrize("featurizer", ["cnn", "mlp"])
def test_featurizing_each_distinct_instance_once_changes_nothing(monkeypatch, featurizer):
    X, y = pool_bags()
    make = lambda: AttentionMILClassifier(featurizer=featurizer, **FAST)  # noqa: E731
    per_slot, distinct = _fit_both_ways(monkeypatch, make, X, y)
    for p, q in zip(per_slot.net_.module_.parameters(), distinct.net_.module_.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), atol=1e-5)
    # Prediction reads either storage alike (the table is in use here, as set above).
    np.testing.assert_allclose(distinct.predict_proba(X), per_slot.predict_proba(X), atol=1e-5)
    for a, b in zip(distinct.explain(X), per_slot.explain(X)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    monkeypatch.setattr(_padding, "_DISTINCT_MAX_FRACTION", 0.0)
    np.testing.assert_allclose(distinct.predict_proba(X), per_slot.predict_proba(X), atol=1e-5)


def test_stacked_ensemble_members_share_the_distinct_featurization(monkeypatch):
    X, y = pool_bags()
    make = lambda: AttentionEnsemble(  # noqa: E731
        AttentionMILClassifier(featurizer="cnn", **FAST), n_estimators=3, agreement_threshold=None, random_state=0
    )
    per_slot, distinct = _fit_both_ways(monkeypatch, make, X, y)
    np.testing.assert_allclose(distinct.predict_proba(X), per_slot.predict_proba(X), atol=1e-5)
    for a, b in zip(distinct.explain(X), per_slot.explain(X)):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_order_and_padding_invariance_with_the_table():
    X, y = pool_bags()
    clf = AttentionMILClassifier(featurizer="cnn", **FAST).fit(X, y)
    rng = np.random.default_rng(1)
    perms = [rng.permutation(len(bag)) for bag in X]
    for a, a_shuffled, p in zip(clf.explain(X), clf.explain([b[p] for b, p in zip(X, perms)]), perms):
        np.testing.assert_allclose(a_shuffled, a[p], atol=1e-6)
    # A bag alone, or batched with a large bag from the same pool, gives the same output.
    large = np.concatenate(X[:20])
    alone = clf.net_.forward_bags(BagDataset(PaddedBags([X[1]], distinct=True)))
    batched = clf.net_.forward_bags(BagDataset(PaddedBags([X[1], large], distinct=True)))
    np.testing.assert_allclose(batched[0][:, 0], alone[0][:, 0], atol=1e-6)
    np.testing.assert_allclose(batched[1][0], alone[1][0], atol=1e-6)


class _Recorder(nn.Module):
    """A per-instance featurizer that records how many rows each call receives."""

    rows = []

    def __init__(self, n_features=36, extra=None):
        super().__init__()
        self.linear = nn.Linear(n_features, 8)
        self.extra = extra if extra is not None else nn.Identity()

    def forward(self, x):
        _Recorder.rows.append(len(x))
        return torch.relu(self.extra(self.linear(x.reshape(len(x), -1))))


def test_batch_dependent_featurizers_see_every_real_slot_in_training():
    """BatchNorm or dropout in a user featurizer: training featurizes each real slot, never padding."""
    X, y = pool_bags()
    n_slots = sum(len(b) for b in X)
    for extra, per_instance in [(None, True), (nn.BatchNorm1d(8), False), (nn.Dropout(0.2), False)]:
        _Recorder.rows = []
        clf = AttentionMILClassifier(featurizer=_Recorder(extra=extra), **{**FAST, "max_epochs": 1})
        clf.fit(X, y)
        assert clf.net_.module_.per_instance is per_instance
        training_rows = sum(_Recorder.rows[1:])  # the first call is the shape probe
        if per_instance:
            assert training_rows < n_slots  # each distinct instance of a step once
        else:
            assert training_rows == n_slots  # every real instance, no padding


def test_batchnorm_statistics_ignore_padding():
    rng = np.random.default_rng(0)
    bags = [rng.normal(3.0, 1.0, size=(n, 4)).astype(np.float32) for n in (2, 9, 5)]
    featurizer = nn.Sequential(nn.BatchNorm1d(4, momentum=1.0), nn.Linear(4, 3))
    net = AttentionMILNet((4,), 2, hidden_size=3, attention_size=2, featurizer_depth=1, classifier_depth=1,
                          featurizer=featurizer, seeds=[0]).train()
    x, mask, index = PaddedBags(bags, distinct=False).batch(np.arange(3))
    assert index is None  # padded storage: zeros fill the short bags
    net(x, mask)
    batchnorm = net.featurizer.members[0][0]
    # momentum=1 keeps the last batch's statistics: those of the real instances only.
    np.testing.assert_allclose(batchnorm.running_mean.numpy(), np.concatenate(bags).mean(axis=0), rtol=1e-5)


def test_a_featurizer_passed_in_eval_mode_trains_with_dropout():
    featurizer = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.5)).eval()
    net = AttentionMILNet((4,), 2, hidden_size=3, attention_size=2, featurizer_depth=1, classifier_depth=1,
                          featurizer=featurizer, seeds=[0])
    x, mask = torch.ones(1, 50, 4), torch.ones(1, 50, dtype=torch.bool)
    torch.manual_seed(0)
    _, first = net.train()(x, mask)
    _, second = net(x, mask)
    assert not torch.equal(first, second)  # dropout is on while training
    _, a = net.eval()(x, mask)
    _, b = net(x, mask)
    assert torch.equal(a, b)
    assert not featurizer.training  # the user's module is untouched


class _RawParameter(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, x):
        return x * self.scale


def test_parameters_that_cannot_be_reinitialised_are_refused():
    X, y = pool_bags(image_shape=(4,))
    with pytest.raises(ValueError, match=r"parameter\(s\) 1.scale .*reset_parameters"):
        AttentionMILClassifier(featurizer=nn.Sequential(nn.Linear(4, 4), _RawParameter()), **FAST).fit(X, y)
    # Frozen parameters may stay as given (e.g. a pretrained part).
    frozen = nn.Sequential(nn.Linear(4, 4), _RawParameter().requires_grad_(False))
    AttentionMILClassifier(featurizer=frozen, **FAST).fit(X, y)


def test_n_threads_is_applied_around_fit_and_predict_and_restored():
    seen = []

    class ThreadProbe(nn.Linear):
        def forward(self, x):
            seen.append(torch.get_num_threads())
            return super().forward(x)

    X, y = pool_bags(image_shape=(4,))
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # as torch would on a machine with 2 cores
    try:
        clf = AttentionMILClassifier(featurizer=ThreadProbe(4, 4), **FAST).fit(X, y)
        clf.predict(X)
        assert set(seen[1:]) == {1}  # the default; seen[0] is the shape probe, outside fit
        assert torch.get_num_threads() == 2
        seen.clear()
        clf.set_params(n_threads=None).predict(X)
        assert set(seen) == {2}
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="n_threads"):
        AttentionMILClassifier(n_threads=0).fit(X, y)


@pytest.mark.parametrize("attention, pooling", [("tanh", "attention"), ("mean", "attention"), ("gated", "max"),
                                                ("tanh", "additive")])
def test_a_batch_known_full_skips_the_mask_and_changes_nothing(monkeypatch, attention, pooling):
    # Training batches say whether their bags fill every slot (issue 23 item 1); a batch
    # said full must train exactly as the path that looks at the mask (today's).
    from setlearn import make_bags
    from setlearn.nn import BagNet

    # Bags of exactly 8 (a fixed-size composition): every batch is full.
    X, y, _ = make_bags("mil", n_bags=40, bag_size=8, composition="balanced", random_state=0)
    params = dict(attention=attention, pooling=pooling, max_epochs=4, batch_size=16, random_state=0)
    calls = []
    module_forward = AttentionMILNet.forward

    def forward(self, *args, full=None, **kwargs):
        calls.append(full)
        return module_forward(self, *args, full=full, **kwargs)

    monkeypatch.setattr(AttentionMILNet, "forward", forward)
    told = AttentionMILClassifier(**params).fit(X, y)
    assert calls and all(full is True for full in calls)
    real_infer = BagNet.infer

    def infer_without_the_flag(self, x, **fit_params):
        return real_infer(self, {k: v for k, v in x.items() if k != "full"}, **fit_params)

    monkeypatch.setattr(BagNet, "infer", infer_without_the_flag)
    looked = AttentionMILClassifier(**params).fit(X, y)
    np.testing.assert_allclose(told.predict_proba(X), looked.predict_proba(X), atol=1e-5, rtol=0)
    for a, b in zip(told.explain(X), looked.explain(X)):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


def test_batches_of_unequal_bags_are_not_full():
    bags = [np.zeros((2, 4), np.float32), np.ones((5, 4), np.float32), np.ones((5, 4), np.float32) * 2]
    dataset = BagDataset(PaddedBags(bags, distinct=False), y=np.array([0, 1, 0]))
    assert [batch["full"] for batch, _ in dataset.batches(3)] == [False]
    assert [batch["full"] for batch, _ in dataset.subset([1, 2]).batches(3)] == [True]


@pytest.mark.parametrize("n_members", [1, 3])
@pytest.mark.parametrize("pooling", ["attention", "additive", "max"])
def test_the_mlp_featurizes_padding_and_it_changes_nothing(monkeypatch, n_members, pooling):
    # Padded storage with the MLP featurizer: every slot is featurized, padding
    # included (no gather of the real instances, no scatter back; issue 23). The
    # outputs and every gradient equal those of featurizing only the real instances.
    rng = np.random.default_rng(0)
    bags = [rng.normal(size=(n, 4)).astype(np.float32) for n in (2, 9, 5, 9)]
    net = AttentionMILNet((4,), 2, hidden_size=6, attention_size=3, featurizer_depth=2, classifier_depth=2,
                          pooling=pooling, n_members=n_members, seeds=range(n_members))
    x, mask, index = PaddedBags(bags, distinct=False).batch(np.arange(len(bags)))
    assert index is None and not bool(mask.all())
    rows = []
    featurize = AttentionMILNet._featurize
    monkeypatch.setattr(AttentionMILNet, "_featurize", lambda self, v: rows.append(len(v)) or featurize(self, v))

    def outputs_and_gradients(*inputs):
        net.zero_grad()
        logits, attention = net(*inputs)
        (logits.square().sum() + (attention * torch.arange(attention.shape[-1])).sum()).backward()
        return [logits, attention] + [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in net.parameters()]

    padded = outputs_and_gradients(x, mask)
    assert rows == [mask.numel()]
    real = torch.zeros(mask.shape, dtype=torch.long)
    real[mask] = torch.arange(int(mask.sum()))
    gathered = outputs_and_gradients(x[mask], mask, real)
    assert rows[1:] == [int(mask.sum())]
    for a, b in zip(padded, gathered):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-6)


@pytest.mark.parametrize("attention, pooling", [("tanh", "attention"), ("gated", "attention"), ("tanh", "additive"),
                                                ("tanh", "max")])
def test_stacked_members_train_step_by_step_as_each_member_alone(attention, pooling):
    # Stacked members share batched products (one for the first layer, baddbmm after
    # it), a single member plain 2-D ones (issue 23): the same batches and Adam steps
    # must give every member the weights it gets alone.
    # In float64, so that the test sees the math: in float32 the two layouts' sums
    # round differently, and Adam's normalised steps grow that to ~1e-5 in a dozen steps.
    rng = np.random.default_rng(0)
    bags = [rng.normal(size=(n, 4)) for n in rng.integers(3, 12, size=24)]
    y = torch.from_numpy(np.arange(24) % 2)
    data = PaddedBags(bags, distinct=False)
    stacked = AttentionMILNet((4,), 2, hidden_size=6, attention_size=3, featurizer_depth=2, classifier_depth=2,
                              attention=attention, pooling=pooling, n_members=3, seeds=[5, 6, 7]).double()
    alone = [stacked.select(e) for e in range(3)]

    def train(net, n_members, order):
        optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
        for batch in np.array_split(order, 4):
            x, mask, _ = data.batch(batch)
            optimizer.zero_grad()
            logits = net(x.double(), mask)[0]
            loss = nn.functional.cross_entropy(logits.reshape(-1, 2), y[batch].repeat(n_members)) * n_members
            loss.backward()
            optimizer.step()

    for _ in range(3):
        order = rng.permutation(24)
        train(stacked, 3, order)
        for net in alone:
            train(net, 1, order)
    x, mask, _ = data.batch(np.arange(24))
    logits, weights = stacked(x.double(), mask)
    for e, net in enumerate(alone):
        own_logits, own_weights = net(x.double(), mask)
        np.testing.assert_allclose(logits[e].detach().numpy(), own_logits[0].detach().numpy(), atol=1e-10)
        np.testing.assert_allclose(weights[e].detach().numpy(), own_weights[0].detach().numpy(), atol=1e-10)
        # All but the attention score's bias: softmax ignores it, so its gradient is
        # rounding noise, which Adam's normalised steps turn into lr-sized moves.
        own = dict(net.named_parameters())
        for name, p in stacked.select(e).named_parameters():
            if name != "pooling.w.bias":
                np.testing.assert_allclose(p.detach().numpy(), own[name].detach().numpy(), atol=1e-10, err_msg=name)


@pytest.mark.parametrize("depth", [1, 2])
def test_cnn_pooling_before_relu_equals_relu_then_pooling(depth):
    """The featurizer pools before its ReLU for speed; values and gradients are those of conv, ReLU, pool."""
    from setlearn.nn import CNNFeaturizer

    torch.manual_seed(0)
    fast = CNNFeaturizer(2, (6, 6), 5, depth, seeds=[0, 1]).double()
    x = torch.randn(7, 6, 6, dtype=torch.float64)
    x[:3] = 0.0  # blank images: tied maxima, as on MNIST's background

    def reference(x):
        h = x.reshape(-1, 1, 6, 6)
        for conv in (m for m in fast.convs if isinstance(m, nn.Conv2d)):
            h = nn.functional.max_pool2d(torch.relu(conv(h)), 2)
        h = h.reshape(h.shape[0], 2, fast.flat_features).transpose(0, 1)
        return torch.relu(fast.head(h))

    weights = torch.randn(2, 7, 5, dtype=torch.float64)
    grads = []
    for forward in (fast, reference):
        fast.zero_grad()
        out = forward(x)
        (out * weights).sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in fast.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=0, atol=1e-12)
    for g_fast, g_ref in zip(grads[0][1], grads[1][1]):
        torch.testing.assert_close(g_fast, g_ref, rtol=0, atol=1e-12)


def test_sigmoid_tanh_is_tanh_in_value_and_gradient():
    """The attention's tanh is computed as 2 sigmoid(2x) - 1 for speed (issue 23): the same function."""
    from setlearn.nn._modules import _SigmoidTanh

    x = torch.linspace(-30, 30, 20001, dtype=torch.float64).requires_grad_()
    torch.autograd.gradcheck(_SigmoidTanh.apply, (x[::500].detach().clone().requires_grad_(),))
    grad = torch.randn(len(x), dtype=torch.float64)
    values = []
    for tanh in (_SigmoidTanh.apply, torch.tanh):
        x.grad = None
        out = tanh(x)
        out.backward(grad)
        values.append((out.detach(), x.grad.clone()))
    torch.testing.assert_close(values[0][0], values[1][0], rtol=0, atol=1e-15)
    torch.testing.assert_close(values[0][1], values[1][1], rtol=0, atol=1e-14)
    x32 = x.detach().float()
    torch.testing.assert_close(_SigmoidTanh.apply(x32), torch.tanh(x32), rtol=0, atol=3e-7)
    # Saturates exactly, and keeps the layout of a features-major view.
    assert _SigmoidTanh.apply(torch.tensor([-100.0, 100.0])).tolist() == [-1.0, 1.0]
    view = torch.randn(4, 9).t()
    assert _SigmoidTanh.apply(view).stride() == view.stride()


@pytest.mark.parametrize("attention, pooling", [("tanh", "attention"), ("gated", "attention"), ("tanh", "additive"),
                                                ("mean", "attention")])
def test_one_member_network_is_the_plain_formula(attention, pooling):
    """A one-member network computes features-major (issue 23); values and gradients are the textbook layers'."""
    torch.manual_seed(0)
    net = AttentionMILNet((4,), 2, hidden_size=6, attention_size=3, featurizer_depth=2, classifier_depth=2,
                          attention=attention, pooling=pooling, seeds=[3]).double()
    x = torch.randn(5, 7, 4, dtype=torch.float64)
    mask = torch.ones(5, 7, dtype=torch.bool)
    mask[1, 4:] = mask[3, 2:] = False
    x[~mask] = 0.0

    def linear(layer, h):
        return h @ layer.weight[0] + layer.bias[0, 0]

    def reference(x):
        h = x
        for layer in net.featurizer.layers:
            h = linear(layer, h) if hasattr(layer, "weight") else torch.relu(h)
        pooling_ = net.pooling
        if attention == "mean":
            scores = torch.zeros(h.shape[:2], dtype=h.dtype)
        else:
            gate = torch.tanh(linear(pooling_.V, h))
            if pooling_.U is not None:
                gate = gate * torch.sigmoid(linear(pooling_.U, h))
            scores = linear(pooling_.w, gate)[..., 0]
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)

        def classify(z):
            for layer in net.classifier:
                z = linear(layer, z) if hasattr(layer, "weight") else torch.relu(z)
            return z

        if pooling == "additive":
            return (weights[..., None] * classify(h)).sum(dim=1), weights
        return classify((weights[..., None] * h).sum(dim=1)), weights

    probe = torch.randn(5, 2, dtype=torch.float64)
    results = []
    for forward in (lambda x: tuple(t[0] for t in net(x, mask)), reference):
        net.zero_grad()
        logits, weights = forward(x)
        (logits * probe).sum().backward()
        results.append([logits.detach(), weights.detach()] + [p.grad.clone() for p in net.parameters()])
    for ours, textbook in zip(*results):
        torch.testing.assert_close(ours, textbook, rtol=0, atol=1e-12)
