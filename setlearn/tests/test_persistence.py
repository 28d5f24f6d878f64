"""save_model / load_model: a model file that is data, not code."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from setlearn import AttentionEnsemble, AttentionMILClassifier, load_model, save_model
from setlearn.utils._testing import presence_bags

FAST = dict(hidden_size=8, attention_size=4, max_epochs=3, random_state=0)


@pytest.mark.slow
def test_a_saved_model_predicts_identically_in_a_fresh_process(tmp_path):
    X, y, _ = presence_bags(n_bags=40, sizes=(3, 9))
    labels = np.array(["healthy", "disease"])[y]
    clf = AttentionMILClassifier(early_stopping=True, n_iter_no_change=2, **FAST).fit(X, labels)
    save_model(clf, tmp_path / "model.pt")
    np.save(tmp_path / "X.npy", np.array(X, dtype=object), allow_pickle=True)
    script = textwrap.dedent(f"""
        import numpy as np
        from setlearn import load_model
        X = list(np.load({str(tmp_path / "X.npy")!r}, allow_pickle=True))
        model = load_model({str(tmp_path / "model.pt")!r})
        np.save({str(tmp_path / "proba.npy")!r}, model.predict_proba(X))
        np.save({str(tmp_path / "labels.npy")!r}, model.predict(X))
        np.save({str(tmp_path / "attention.npy")!r}, np.concatenate(model.explain(X)))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), clf.predict_proba(X))
    np.testing.assert_array_equal(np.load(tmp_path / "labels.npy"), clf.predict(X))
    np.testing.assert_array_equal(np.load(tmp_path / "attention.npy"), np.concatenate(clf.explain(X)))


def test_an_ensemble_round_trips_with_its_parameters(tmp_path, bags):
    X, y, _ = bags
    grid = {"hidden_size": [4, 8]}
    ensemble = AttentionEnsemble(AttentionMILClassifier(**FAST), n_estimators=3, param_grid=grid,
                                 agreement_threshold=None, random_state=0).fit(X, y)
    save_model(ensemble, tmp_path / "ensemble.pt")
    # The file holds only tensors and plain containers: the safe loader reads it.
    assert torch.load(tmp_path / "ensemble.pt", weights_only=True)["class"] == "AttentionEnsemble"
    loaded = load_model(tmp_path / "ensemble.pt")
    np.testing.assert_array_equal(loaded.predict_proba(X), ensemble.predict_proba(X))
    assert loaded.get_params()["param_grid"] == grid
    assert [m.hidden_size for m in loaded.estimators_] == [4, 8, 4]
    assert len(loaded.estimators_[0].history_) == FAST["max_epochs"]
    for a, b in zip(loaded.explain(X), ensemble.explain(X)):
        np.testing.assert_array_equal(a, b)


def test_what_cannot_be_saved_as_data_is_refused(tmp_path, bags):
    X, y, _ = bags
    module = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh())
    clf = AttentionMILClassifier(featurizer=module, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="custom featurizer module is code"):
        save_model(clf, tmp_path / "m.pt")
    (tmp_path / "other.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a model file written by setlearn.save_model"):
        load_model(tmp_path / "other.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "tensors.pt")
    with pytest.raises(ValueError, match="not a model file written by setlearn.save_model"):
        load_model(tmp_path / "tensors.pt")
