from importlib import metadata

import setlearn
from setlearn.utils._versions import REPORT_PACKAGES, RESULT_PACKAGES, package_versions


def test_the_versions_that_decide_results_name_skorch_and_the_running_setlearn():
    versions = package_versions()
    assert tuple(versions) == RESULT_PACKAGES and "skorch" in versions
    assert versions["setlearn"] == setlearn.__version__
    assert versions["skorch"] == metadata.version("skorch") and versions["torch"] == metadata.version("torch")


def test_report_packages_extend_the_result_packages_and_a_missing_one_is_none():
    assert REPORT_PACKAGES[: len(RESULT_PACKAGES)] == RESULT_PACKAGES
    assert package_versions(("numpy", "no-such-distribution")) == {
        "numpy": metadata.version("numpy"), "no-such-distribution": None,
    }
