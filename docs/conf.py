"""Sphinx configuration of the setlearn documentation.

Build (offline, warnings as errors), from the repository root::

    pip install -c constraints.txt -e ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

The guides are Markdown (MyST); the API reference is generated from the
numpydoc docstrings; ``examples/plot_*.py`` are run by sphinx-gallery at build
time and the other examples are shown without being run.
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
# One torch and BLAS thread: the examples are sized for seconds, and the build
# shares its machine with the test suite in CI.
os.environ.setdefault("OMP_NUM_THREADS", "1")

DOCS = Path(__file__).parent
sys.path.insert(0, str(DOCS.parent))  # document this checkout, not an installed copy

import setlearn  # noqa: E402

project = "setlearn"
author = "setlearn developers"
copyright = "setlearn developers"
release = setlearn.__version__
version = release

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# The run folders (results/<run>/) hold reports and tables written by setlearn assess; the
# results page links to them as files, they are not pages of the site; nor are the Markdown
# twins of the summary tables beside the results page (benchmarks/summarise_learnability.py).
exclude_patterns = ["_build", "results/*/**", "results/*_summary.md", "results/*_dead_units.md",
                    "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.md5",
                    "auto_examples/*.json", "_intersphinx"]
templates_path = ["_templates"]

# -- MyST: the Markdown guides ------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# -- API reference ---------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()  # validated by setlearn/tests/test_docstrings.py instead



def _skip_metadata_request_setters(app, what, name, obj, skip, options):
    # scikit-learn generates set_{fit,score,...}_request on every estimator; their
    # docstrings point into scikit-learn's own glossary, and the user guide on
    # metadata routing (metrics.md) explains what setlearn needs from them.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_setters)


# -- intersphinx: the projects' inventories, or the bundled ones offline ------
# Each project is tried online first; when that fails (no internet in CI) the
# small inventory in docs/_intersphinx/ is used instead, which Sphinx reports as
# information, not as a warning. Regenerate those with make_inventories.py.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", (None, "_intersphinx/python-objects.inv")),
    "sklearn": ("https://scikit-learn.org/stable/", (None, "_intersphinx/sklearn-objects.inv")),
    "torch": ("https://docs.pytorch.org/docs/stable/", (None, "_intersphinx/torch-objects.inv")),
    "skorch": ("https://skorch.readthedocs.io/en/stable/", (None, "_intersphinx/skorch-objects.inv")),
}
intersphinx_timeout = 5

# -- the gallery ------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "auto_examples",
    # Only examples named plot_*.py run at build time (seconds each); the others
    # (minutes of training, or a data file to fetch) are shown, not run.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib", "seaborn"),
}

# -- HTML ---------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"setlearn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
