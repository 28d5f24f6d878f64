"""Quickstart: train on bags, read the attention, score it with scikit-learn.

Builds the study's Gaussian MIL problem, fits an AttentionMILClassifier,
cross-validates bag accuracy and attention quality (iAUC-ROC) side by side,
and fits an ensemble whose members' agreement is a warning that needs no
ground truth.

Run: ``python examples/quickstart.py`` (about 10 seconds).
"""

import sklearn
from sklearn.model_selection import cross_validate

from setlearn import AttentionEnsemble, AttentionMILClassifier, importance_auroc, make_bags

X, y, importance = make_bags("mil", "gaussian", n_bags=300, bag_size=50, random_state=0)

clf = AttentionMILClassifier(hidden_size=8, attention_size=4, random_state=0).fit(X, y)
weights = clf.explain(X)
print(f"bag 0 ({'positive' if y[0] else 'negative'}): top attention on instances "
      f"{weights[0].argsort()[::-1][:5].tolist()}, important ones are {importance[0].nonzero()[0][:5].tolist()}...")

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
