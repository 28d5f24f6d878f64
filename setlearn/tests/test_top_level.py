import subprocess
import sys

import setlearn


def test_names_users_meet_in_the_docs_import_from_setlearn():
    from setlearn import (AttentionDisagreementWarning, InstanceTransformer, bags_from_anndata,
                          bags_from_frame, instance_values_to_frame)
    from setlearn.ensemble import AttentionDisagreementWarning as defined

    assert AttentionDisagreementWarning is defined and issubclass(defined, UserWarning)
    assert InstanceTransformer.__module__.startswith("setlearn.preprocessing")
    assert {"bags_from_frame", "bags_from_anndata", "instance_values_to_frame"} <= set(setlearn.__all__)
    assert callable(bags_from_frame) and callable(bags_from_anndata) and callable(instance_values_to_frame)


def test_bags_and_preprocessing_do_not_load_torch():
    code = ("import sys, setlearn.bags, setlearn.preprocessing; "
            "from setlearn import bags_from_frame, InstanceTransformer; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
