"""
Attention on image bags: a good model and a silent failure, side by side
========================================================================

Bags of ten 8x8 handwritten digits (scikit-learn's bundled digits). A bag is
positive when it holds a 3 **and** a 9 (the study's AND problem), so the 3s
and 9s are the instances that decide the label, and a trustworthy model should
put its attention on them.

Eight models are trained (two attention sizes, four seeds each, trained
together as one :class:`~setlearn.AttentionEnsemble`), and each is scored on
held-out bags twice: bag accuracy, and iAUC-ROC, the AUROC of its attention
against the true 3s and 9s (:func:`~setlearn.metrics.importance_auroc_score`).

The bags hold few "other" digits (20 % instead of the study's 40 %): a bag with
a 3 and a 9 then holds fewer other digits than a bag with one of them only, a
shortcut a model can learn by *counting the other digits*. Models that take it
classify about as well as the ones that look at the 3s and 9s, and their
attention points at the wrong images. This is the study's silent failure
(Haab et al., 2022, Fig. 3): nothing in the accuracy tells the two apart.

About 30 seconds on 2 CPU cores.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from setlearn import AttentionEnsemble, AttentionMILClassifier, make_bags
from setlearn.metrics import importance_auroc_score

RATES = (0.2, 0.4, 0.4)  # other digits, 3s, 9s
bags = dict(n_bags=150, bag_size=10, probabilities=RATES)
X, y, _ = make_bags("and", "digits", pool="train", random_state=0, **bags)
X_test, y_test, importance = make_bags("and", "digits", pool="test", random_state=1, **bags)

models = AttentionEnsemble(AttentionMILClassifier(hidden_size=8, max_epochs=25), n_estimators=8,
                           param_grid={"attention_size": [1, 4]}, agreement_threshold=None,
                           random_state=0).fit(X, y)
attention = models.explain_members(X_test)

with warnings.catch_warnings():
    # A positive test bag whose digits are all 3s and 9s has no wrong image to
    # rank: it is skipped (and would be reported by an UndefinedMetricWarning).
    warnings.simplefilter("ignore")
    rows = [{"model": i, "attention_size": member.attention_size,
             "test_accuracy": member.score(X_test, y_test),
             "iauc_roc": importance_auroc_score(importance, attention[i], y=y_test)}
            for i, member in enumerate(models.estimators_)]
table = pd.DataFrame(rows).round(2)
print(table.to_string(index=False))

# %%
# Accuracy does not tell a good explanation from a bad one
# --------------------------------------------------------
# Every dot is one model. The accurate ones sit on both sides of the iAUC-ROC
# axis: some attend to the 3s and 9s (iAUC-ROC near 1), others to everything
# else (near 0), with about the same accuracy.

fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
ax.scatter(table["test_accuracy"], table["iauc_roc"], c=table["attention_size"], cmap="viridis", s=50)
ax.axhline(0.65, color="grey", linestyle="--", linewidth=1)
ax.text(table["test_accuracy"].min(), 0.67, "bad explanation below 0.65", fontsize=8, color="grey")
ax.set(xlabel="test bag accuracy", ylabel="iAUC-ROC (attention vs true 3s and 9s)", ylim=(-0.05, 1.05))
for row in table.itertuples():
    ax.annotate(str(row.model), (row.test_accuracy, row.iauc_roc), xytext=(4, 2),
                textcoords="offset points", fontsize=8)

# %%
# The same bag through the eyes of two accurate models
# ----------------------------------------------------
# The most accurate model with a good explanation (iAUC-ROC >= 0.65), and the
# most accurate one with a bad explanation, on the same positive test bag. Each image carries the
# weight the model gave it; the 3s and 9s have a red frame.

explains_well = table["iauc_roc"] >= 0.65
good = int(table[explains_well].sort_values("test_accuracy").iloc[-1]["model"])
bad = int(table[~explains_well].sort_values("test_accuracy").iloc[-1]["model"])
bag = int(np.flatnonzero((y_test == 1) & np.array([0 < imp.sum() < len(imp) for imp in importance]))[0])
print(f"good model {good}: accuracy {table.loc[good, 'test_accuracy']}, iAUC-ROC {table.loc[good, 'iauc_roc']}; "
      f"bad model {bad}: accuracy {table.loc[bad, 'test_accuracy']}, iAUC-ROC {table.loc[bad, 'iauc_roc']}")

images, truth = X_test[bag], importance[bag]
fig, axes = plt.subplots(2, len(images), figsize=(1.1 * len(images), 3.2), layout="constrained")
for row_axes, model in zip(axes, (good, bad)):
    weights = attention[model][bag]
    for ax, image, weight, important in zip(row_axes, images, weights, truth):
        ax.imshow(image, cmap="gray_r")
        ax.set_title(f"{weight:.3f}", fontsize=9, fontweight="bold" if weight == weights.max() else "normal")
        ax.set_xticks([])
        ax.set_yticks([])
        if important:
            ax.add_patch(Rectangle((-0.5, -0.5), 8, 8, fill=False, edgecolor="red", linewidth=3))
    row_axes[0].set_ylabel(f"model {model}\niAUC {table.loc[model, 'iauc_roc']:.2f}", fontsize=9)
fig.suptitle("attention weight of every image: a good explanation (top), a silent failure (bottom)", fontsize=10)
plt.show()
