"""Data files that other packages ship in their wheels, found without importing those packages."""

import importlib.util
from pathlib import Path


def _file_in_package(package, parts, *, missing, misplaced):
    """Path of the file ``parts`` inside the installed ``package``, which is never imported.

    ``find_spec`` locates the package on disk without running its (often slow)
    import. ``missing`` is the message of the ``ImportError`` raised when the
    package is not installed; ``misplaced`` ends the ``FileNotFoundError``
    raised when it is installed without the file.
    """
    # Looked up on the module at call time, so that tests can stand in for the package.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(missing)
    candidates = [Path(location, *parts) for location in spec.submodule_search_locations]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{package} is installed, but its data file is not where setlearn looks for it: "
        f"{', '.join(map(str, candidates))}. {misplaced}"
    )
