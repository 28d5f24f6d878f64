"""
Quickstart: train on bags, read the attention, score it with scikit-learn
=========================================================================

Builds the study's Gaussian MIL problem, fits an AttentionMILClassifier,
cross-validates bag accuracy and attention quality (iAUC-ROC) side by side,
and fits an ensemble whose members' agreement is a warning that needs no
ground truth.

Run: ``python examples/plot_quickstart.py`` (about 10 seconds).
"""

import numpy as np
import sklearn
from sklearn.model_selection import cross_validate

from setlearn import AttentionEnsemble, AttentionMILClassifier, importance_auroc, make_bags

X, y, importance = make_bags("mil", "gaussian", n_bags=300, bag_size=50, random_state=0)

clf = AttentionMILClassifier(hidden_size=8, attention_size=4, random_state=0).fit(X, y)
weights = clf.explain(X)
bag = int(np.flatnonzero(y == 1)[0])
top = weights[bag].argsort()[::-1][:10]
print(f"positive bag {bag}: of its 10 most attended instances, {int(importance[bag][top].sum())} are "
      f"important ({int(importance[bag].sum())} of its {len(X[bag])} instances are)")

sklearn.set_config(enable_metadata_routing=True)
scores = cross_validate(
    AttentionMILClassifier(hidden_size=8, attention_size=4, random_state=0), X, y,
    scoring={"accuracy": "accuracy", "iauc": importance_auroc},
    params={"importance": importance}, cv=3,
)
print("bag accuracy per fold:", scores["test_accuracy"].round(2))
print("iAUC-ROC per fold:    ", scores["test_iauc"].round(2))

ensemble = AttentionEnsemble(AttentionMILClassifier(hidden_size=8, attention_size=4),
                             n_estimators=10, random_state=0).fit(X, y)
ensemble.explain(X)  # warns (AttentionDisagreementWarning) when the members disagree
print("members' agreement on the first 5 bags:", ensemble.attention_agreement(X[:5]).round(2))
