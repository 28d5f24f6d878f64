"""The one list of packages whose versions decide setlearn's numbers, and their installed versions.

Read by the assessment wherever versions are recorded or compared (``versions.json``, the
report's line of versions, the check that Dask workers run this machine's versions), so that
the three can never name different packages. Light: no torch, no numpy.
"""

from importlib import metadata

#: Distribution names (as ``importlib.metadata`` and ``pip`` spell them) of the packages that
#: decide a trained model's numbers.
RESULT_PACKAGES = ("setlearn", "torch", "scikit-learn", "numpy", "skorch")
#: :data:`RESULT_PACKAGES` and the packages that draw the report's tables and figures.
REPORT_PACKAGES = (*RESULT_PACKAGES, "pandas", "matplotlib")


def package_versions(packages=RESULT_PACKAGES):
    """The installed version of every package of ``packages``, in that order.

    Parameters
    ----------
    packages : sequence of str, default=RESULT_PACKAGES
        Distribution names.

    Returns
    -------
    versions : dict of str to str or None
        Version of each package; None for one that is not installed. setlearn's is
        ``setlearn.__version__``, the version of the code that runs (an editable
        install's metadata can lag behind it).

    Examples
    --------
    >>> from setlearn.utils._versions import package_versions
    >>> versions = package_versions()
    >>> list(versions)
    ['setlearn', 'torch', 'scikit-learn', 'numpy', 'skorch']
    >>> package_versions(["no-such-distribution"])
    {'no-such-distribution': None}
    """
    found = {}
    for name in packages:
        if name == "setlearn":
            import setlearn

            found[name] = setlearn.__version__
            continue
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found
