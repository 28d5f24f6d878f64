"""Small data for tests and examples: bags whose label says whether a shifted instance is present."""

import numpy as np


def presence_bags(n_bags=60, sizes=(10,), n_features=4, shift=2.0, random_state=0):
    """Bags of Gaussian noise; positive bags hold some instances shifted by ``shift``.

    Returns X (list of float32 arrays), y (0/1) and importance (0/1 per instance).
    Sizes are drawn from ``sizes``, independent of the label.
    """
    rng = np.random.default_rng(random_state)
    X, y, importance = [], np.arange(n_bags) % 2, []
    for label in y:
        n = int(rng.choice(sizes))
        witness = np.zeros(n, dtype=int)
        if label:
            witness[rng.choice(n, size=max(1, n // 4), replace=False)] = 1
        bag = rng.normal(0, 0.5, size=(n, n_features)) + shift * witness[:, None]
        X.append(bag.astype(np.float32))
        importance.append(witness)
    return X, y, importance


# Smaller than the smoke preset: 2 search + 4 retrained models, a second or two.
TINY_ASSESS_CONFIG = {
    "problems": ["mil"],
    "n_train_bags": 30,
    "n_valid_bags": 20,
    "n_test_bags": 20,
    "bag_size": 10,
    "grid": {"gaussian": {"hidden_size": [4], "attention_size": [2, 4], "featurizer_depth": [1],
                          "classifier_depth": [1]}},
    "estimator_params": {"max_epochs": 3},
    "search_seeds": 1,
    "top_k": 2,
    "n_retrain": 2,
    "max_ensemble_size": 2,
    "n_ensembles": 2,
}
N_TINY_MODELS = 2 + 2 * 2
N_TINY_ENSEMBLES = 2 * 2  # one size x 2 draws x 2 kinds
