"""Recompute the study's tables from a results folder, and draw one figure yourself.

Every number in a ``setlearn assess`` report comes from ``models.csv`` and
``ensembles.csv`` through public functions, so you can slice the rows any
way you like. Run ``setlearn assess --preset smoke`` first (or point
``folder`` at any results folder).

    python examples/assess_tables.py [folder]
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from setlearn import assessment, plotting

pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 20)

folder = sys.argv[1] if len(sys.argv) > 1 else "setlearn-results/smoke"
models = pd.read_csv(f"{folder}/models.csv")
ensembles = pd.read_csv(f"{folder}/ensembles.csv")

print(assessment.table_top_configurations(models))                 # Table 1
print(assessment.table_accuracy_vs_iauc(models))                   # Table 2
print(assessment.table_ensembles(models, ensembles))               # Table 3

# A stricter notion of a bad explanation changes Table 3 but nothing else.
print(assessment.table_ensembles(models, ensembles, bad_iauc=0.8))

fig, ax = plt.subplots(layout="constrained")
plotting.plot_accuracy_vs_iauc(models[models["stage"] == "retrain"], ax=ax)
fig.savefig(f"{folder}/my_heatmap.png")
print(f"wrote {folder}/my_heatmap.png")
