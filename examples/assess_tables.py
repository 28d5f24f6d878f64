"""
Recompute the study's tables from a results folder, and draw one figure yourself
================================================================================

Every number in a ``setlearn assess`` report comes from ``models.csv`` and
``ensembles.csv`` through public functions, so you can slice the rows any
way you like. Point it at any results folder::

    python examples/assess_tables.py [folder]

Without a folder it uses ``setlearn-results/smoke``, and when that does not
exist yet it first runs the ``smoke`` preset there (under a minute), so the
script works on a fresh checkout.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

import setlearn
from setlearn import assessment, plotting

pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 20)

DEFAULT = Path("setlearn-results/smoke")

if len(sys.argv) > 1:
    folder = Path(sys.argv[1])
    if not (folder / "models.csv").is_file():
        sys.exit(f"{folder} holds no models.csv: pass the folder a 'setlearn assess' run wrote "
                 f"(e.g. setlearn-results/quick), or no folder to run the smoke preset first.")
else:
    folder = DEFAULT
    if not (folder / "models.csv").is_file() or not (folder / "ensembles.csv").is_file():
        print(f"No results in {folder} yet: running 'setlearn assess --preset smoke' there first.")
        setlearn.assess("smoke", out=folder, verbose=False)

models = pd.read_csv(folder / "models.csv")
ensembles = pd.read_csv(folder / "ensembles.csv")

print(assessment.table_top_configurations(models))                 # Table 1
print(assessment.table_accuracy_vs_iauc(models))                   # Table 2
print(assessment.table_ensembles(models, ensembles))               # Table 3

# A stricter notion of a bad explanation changes Table 3 but nothing else.
print(assessment.table_ensembles(models, ensembles, bad_iauc=0.8))

fig, ax = plt.subplots(layout="constrained")
plotting.plot_accuracy_vs_iauc(models[models["stage"] == "retrain"], ax=ax)
fig.savefig(folder / "my_heatmap.png")
print(f"wrote {folder / 'my_heatmap.png'}")
