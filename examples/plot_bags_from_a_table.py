"""
From a table to attention on its rows, with scaling inside the pipeline
=======================================================================

An analyst's data: one row per measurement (an instance), a ``patient``
column naming the bag, a per-patient diagnosis, and features on wildly
different scales (a count in the thousands next to a ratio near 0). Here the
table is built from :func:`setlearn.make_bags` (the study's MIL problem), so
we also know which rows truly decide the diagnosis (``witness``) and can check
the attention against them; that column is never shown to the model.

1. :func:`~setlearn.bags.bags_from_frame` turns the table into bags;
2. ``make_pipeline(InstanceTransformer(StandardScaler()), AttentionMILClassifier())``
   learns the scaling on the instances of each training fold only, inside
   :func:`~sklearn.model_selection.cross_validate`, scored by accuracy and by
   iAUC-ROC (which works through the pipeline);
3. :func:`~setlearn.bags.instance_values_to_frame` puts the attention back on
   the rows of the table.

A few seconds on 2 CPU cores.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sklearn
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from setlearn import (AttentionMILClassifier, InstanceTransformer, bags_from_frame, importance_auroc,
                      instance_values_to_frame, make_bags)

# The long table: one row per instance.
X_made, y_made, importance_made = make_bags("mil", n_bags=120, bag_size=(10, 20), random_state=0)
rng = np.random.default_rng(0)
scales = np.array([1000.0, 1.0, 0.01, 50.0])  # features in their own units
offsets = np.array([5000.0, 0.0, 0.5, -200.0])
frame = pd.concat([
    pd.DataFrame(bag * scales + offsets, columns=["count", "intensity", "ratio", "temperature"])
    .assign(patient=f"patient-{i:03d}", diagnosis=int(label), witness=imp)
    for i, (bag, label, imp) in enumerate(zip(X_made, y_made, importance_made))
]).sample(frac=1, random_state=0).reset_index(drop=True)  # rows in no particular order
print(frame.head().round(3).to_string())

# %%
# Bags from the table
# -------------------
# Bags come in order of first appearance of their patient; ``bag_ids`` names
# them. The features are named, and the ground truth (``importance=``) is
# regrouped the same way, for scoring only: it never becomes a feature.

features = ["count", "intensity", "ratio", "temperature"]
X, y, bag_ids, importance = bags_from_frame(frame, "patient", label="diagnosis", features=features,
                                            importance="witness")
print(f"{len(X)} bags of {min(map(len, X))}-{max(map(len, X))} rows; first bag: {bag_ids[0]}")

# %%
# Scaling inside the pipeline, scored by accuracy and iAUC-ROC
# ------------------------------------------------------------

classifier = AttentionMILClassifier(hidden_size=8, attention_size=4, max_epochs=60, random_state=0)
candidates = {"raw features": classifier,
              "InstanceTransformer(StandardScaler())": make_pipeline(InstanceTransformer(StandardScaler()),
                                                                     classifier)}
results = []
with sklearn.config_context(enable_metadata_routing=True):
    for name, model in candidates.items():
        scores = cross_validate(model, X, y, cv=3, params={"importance": importance},
                                scoring={"accuracy": "accuracy", "iauc": importance_auroc})
        results.append({"model": name, "accuracy": scores["test_accuracy"].mean(),
                        "iAUC-ROC": scores["test_iauc"].mean()})
print(pd.DataFrame(results).round(2).to_string(index=False))

# %%
# Attention back on the rows
# --------------------------
# The fitted pipeline's last step explains the scaled bags; the weights land on
# the rows they came from, next to the (hidden) ground truth.

model = candidates["InstanceTransformer(StandardScaler())"].fit(X, y)
frame["attention"] = instance_values_to_frame(model[-1].explain(model[:-1].transform(X)), frame, "patient")
positive = frame[frame["diagnosis"] == 1]
print(positive.sort_values(["patient", "attention"], ascending=[True, False])
      .groupby("patient").head(3).head(9)[["patient", "count", "ratio", "witness", "attention"]]
      .round(3).to_string(index=False))

fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
relative = positive["attention"] * positive.groupby("patient")["attention"].transform("size")
for witness, colour in ((0, "tab:blue"), (1, "tab:red")):
    part = relative[positive["witness"] == witness]
    ax.hist(part, bins=30, alpha=0.6, color=colour, label=["other rows", "witness rows"][witness])
ax.set(xlabel="attention x bag size (1 = uniform)", ylabel="rows of positive patients")
ax.legend()
plt.show()
