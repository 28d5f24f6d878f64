"""Write the small intersphinx inventories the docs fall back to when offline.

The documentation build must work without internet (CI has none), but
intersphinx needs each project's ``objects.inv``. ``conf.py`` tries the
projects' own inventories first and falls back to the files written here,
which list only the objects setlearn's docs refer to, at the addresses those
projects publish them under. Add an entry when the docs start referring to a
new object of Python, scikit-learn, torch or skorch, then run::

    python docs/_intersphinx/make_inventories.py
"""

import zlib
from pathlib import Path

HERE = Path(__file__).parent

# project -> (file, version, [(name, role, uri)]); "$" in a uri stands for the name.
INVENTORIES = {
    "scikit-learn": ("sklearn-objects.inv", "1.9", [
        (f"sklearn.{name}", "py:class", f"modules/generated/sklearn.{name}.html#$")
        for name in (
            "base.BaseEstimator", "base.ClassifierMixin", "base.TransformerMixin",
            "pipeline.Pipeline", "exceptions.UndefinedMetricWarning", "preprocessing.StandardScaler",
            "impute.SimpleImputer", "decomposition.PCA", "model_selection.GridSearchCV",
            "utils.metadata_routing.MetadataRequest",
        )
    ] + [
        (f"sklearn.{name}", "py:function", f"modules/generated/sklearn.{name}.html#$")
        for name in ("model_selection.cross_validate", "model_selection.cross_val_score",
                     "pipeline.make_pipeline", "datasets.load_digits")
    ]),
    "Python": ("python-objects.inv", "3.11", [
        ("pathlib.Path", "py:class", "library/pathlib.html#$"),
        ("UserWarning", "py:exception", "library/exceptions.html#$"),
        ("ValueError", "py:exception", "library/exceptions.html#$"),
        ("dict", "py:class", "library/stdtypes.html#$"),
    ]),
    "torch": ("torch-objects.inv", "2.13", [
        (f"torch.{name}", "py:class", f"generated/torch.{name}.html#$")
        for name in ("nn.Module", "nn.Linear", "nn.Conv2d", "Tensor", "device")
    ]),
    "skorch": ("skorch-objects.inv", "1.4", [
        ("skorch.net.NeuralNet", "py:class", "net.html#$"),
        ("skorch.NeuralNet", "py:class", "net.html#skorch.net.NeuralNet"),
        ("skorch.history.History", "py:class", "history.html#$"),
        ("skorch.History", "py:class", "history.html#skorch.history.History"),
    ]),
}


def write(project, filename, version, entries):
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: {version}\n"
              f"# The remainder of this file is compressed using zlib.\n")
    body = "".join(f"{name} {role} 1 {uri} -\n" for name, role, uri in sorted(entries))
    (HERE / filename).write_bytes(header.encode() + zlib.compress(body.encode()))


if __name__ == "__main__":
    for project, (filename, version, entries) in INVENTORIES.items():
        write(project, filename, version, entries)
        print(f"wrote {HERE / filename}: {len(entries)} objects")
