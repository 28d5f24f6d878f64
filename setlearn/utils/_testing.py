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
