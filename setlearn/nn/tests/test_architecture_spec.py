"""ArchitectureSpec and TrainingSpec: the one mapping from estimator parameters to the network."""

import dataclasses

import numpy as np
import pytest
import torch

from setlearn import AttentionEnsemble, AttentionMILClassifier
from setlearn.bags import bag_sizes, max_padded_elements
from setlearn.ensemble import _ensemble
from setlearn.nn import ArchitectureSpec, AttentionMILNet, TrainingSpec
from setlearn.nn._modules import POOLINGS

VECTOR, IMAGE, CHANNELS = (5,), (8, 8), (2, 6, 6)


def _by_hand(params, instance_shape, n_classes, seeds, featurizer):
    """The network as the estimator's parameters were passed to AttentionMILNet before the spec existed."""
    return AttentionMILNet(
        instance_shape, n_classes, hidden_size=params["hidden_size"], attention_size=params["attention_size"],
        featurizer_depth=params["featurizer_depth"], classifier_depth=params["classifier_depth"],
        attention=params["attention"], featurizer=featurizer, pooling=params["pooling"],
        n_members=len(seeds), seeds=seeds,
    )


def _batch(instance_shape, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 7, *instance_shape, generator=generator)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[1, 4:] = mask[2, 2:] = False  # ragged bags: padding takes part
    return x, mask


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("instance_shape, featurizer", [(VECTOR, "mlp"), (IMAGE, "cnn"), (CHANNELS, "cnn")])
@pytest.mark.parametrize("attention", ["tanh", "gated", "mean"])
def test_the_spec_builds_the_network_the_parameters_always_built(pooling, instance_shape, featurizer, attention):
    params = AttentionMILClassifier(hidden_size=6, attention_size=3, featurizer_depth=2, classifier_depth=2,
                                    attention=attention, pooling=pooling).get_params()
    seeds = [11, 12]
    spec = ArchitectureSpec.from_params(params, instance_shape, n_classes=3)
    assert spec.featurizer == featurizer  # "auto" resolved from the instances
    built, expected = spec.build(seeds=seeds), _by_hand(params, instance_shape, 3, seeds, featurizer)
    built_state, expected_state = built.state_dict(), expected.state_dict()
    assert list(built_state) == list(expected_state)
    for name, tensor in expected_state.items():
        assert built_state[name].shape == tensor.shape, name
        torch.testing.assert_close(built_state[name], tensor, rtol=0, atol=0)
    x, mask = _batch(instance_shape)
    for got, want in zip(built.eval()(x, mask), expected.eval()(x, mask)):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_a_fitted_classifier_holds_the_network_of_its_spec():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(n, 4)).astype(np.float32) for n in (3, 6, 9, 4)] * 5
    y = np.arange(20) % 2
    clf = AttentionMILClassifier(hidden_size=6, attention_size=3, pooling="additive", max_epochs=1, random_state=0)
    clf.fit(X, y)
    spec = ArchitectureSpec.from_params(clf.get_params(), clf.instance_shape_, len(clf.classes_))
    shapes = {k: v.shape for k, v in spec.build(seeds=[0]).state_dict().items()}
    assert shapes == {k: v.shape for k, v in clf.net_.module_.state_dict().items()}


def test_from_params_reads_only_the_architecture_and_checks_what_the_data_decides():
    params = AttentionMILClassifier(hidden_size=7, lr=0.1, max_epochs=3).get_params()
    spec = ArchitectureSpec.from_params(params, [4], n_classes=2)
    assert spec == ArchitectureSpec.from_params({**params, "lr": 1.0, "max_epochs": 9}, (4,), 2)
    assert spec.instance_shape == (4,) and spec.featurizer == "mlp" and spec.hidden_size == 7
    assert spec != ArchitectureSpec.from_params({**params, "pooling": "max"}, (4,), 2)
    assert len({spec, ArchitectureSpec.from_params(params, (4,), 2)}) == 1  # frozen, hashable
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.hidden_size = 3
    with pytest.raises(ValueError, match=r"The CNN featurizer needs image instances .* Use featurizer='mlp'"):
        ArchitectureSpec.from_params({**params, "featurizer": "cnn"}, (4,), 2)
    with pytest.raises(ValueError, match="featurizer='mlp'"):
        ArchitectureSpec.from_params(params, (3, 2, 2, 2), 2)  # "auto" on volumes
    assert ArchitectureSpec.from_params({**params, "featurizer": "mlp"}, (8, 8), 2).featurizer == "mlp"
    del params["pooling"]
    with pytest.raises(TypeError, match="needs the estimator parameter"):
        ArchitectureSpec.from_params(params, (4,), 2)


@pytest.mark.parametrize("instance_shape", [IMAGE, CHANNELS, (28, 28)])
def test_the_widest_activation_is_the_cnn_first_feature_map(instance_shape):
    spec = ArchitectureSpec.from_params(AttentionMILClassifier().get_params(), instance_shape, 2)
    first_conv = spec.build(seeds=[0, 1]).featurizer.convs[0]
    per_member_channels = first_conv.out_channels // 2
    assert spec.widest_instance_activation == per_member_channels * instance_shape[-2] * instance_shape[-1]


def test_the_widest_activation_of_vectors_and_modules_is_the_hidden_size():
    params = AttentionMILClassifier(hidden_size=12).get_params()
    assert ArchitectureSpec.from_params(params, VECTOR, 2).widest_instance_activation == 12
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 5))
    assert ArchitectureSpec.from_params({**params, "featurizer": module}, IMAGE, 2).widest_instance_activation == 12


def test_the_ensemble_stacks_as_many_members_as_the_spec_budget_allows():
    rng = np.random.default_rng(0)
    images = [rng.random((30, 16, 16)).astype(np.float32) for _ in range(8)]
    y = np.arange(8) % 2
    base = AttentionMILClassifier(hidden_size=4, attention_size=2, max_epochs=1, batch_size=4)
    params = base.get_params()
    spec, training = ArchitectureSpec.from_params(params, (16, 16), 2), TrainingSpec.from_params(params)
    per_member = max_padded_elements(bag_sizes(images), 4) * spec.widest_instance_activation
    expected = _ensemble._STACK_BUDGET // per_member
    assert 1 < expected < 5 and _ensemble._members_per_module(spec, training, bag_sizes(images)) == expected
    ensemble = AttentionEnsemble(base, n_estimators=5, agreement_threshold=None, random_state=0).fit(images, y)
    # Members of one stacked module share its history object.
    histories = [id(m.history_) for m in ensemble.estimators_]
    assert histories == [histories[0]] * expected + [histories[expected]] * (5 - expected)


def test_training_spec_reads_the_training_parameters():
    params = AttentionMILClassifier(max_epochs=7, lr=0.01, early_stopping=True, n_threads=None).get_params()
    training = TrainingSpec.from_params({**params, "hidden_size": 99})
    assert (training.max_epochs, training.lr, training.early_stopping, training.n_threads) == (7, 0.01, True, None)
    assert not hasattr(training, "hidden_size")
