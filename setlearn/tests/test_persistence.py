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


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The payloads of a saved classifier (string classes) and a saved ensemble of two."""
    X, y, _ = presence_bags(n_bags=20, sizes=(3, 5))
    labels = np.array(["healthy", "disease"])[y]
    out = tmp_path_factory.mktemp("saved")
    save_model(AttentionMILClassifier(**FAST).fit(X, labels), out / "clf.pt")
    save_model(AttentionEnsemble(AttentionMILClassifier(**FAST), n_estimators=2, agreement_threshold=None,
                                 random_state=0).fit(X, labels), out / "ensemble.pt")
    return {name: torch.load(out / f"{name}.pt", weights_only=True) for name in ("clf", "ensemble")}


def _nan_weights(payload):
    name = next(iter(payload["members"][0]["weights"]))
    payload["members"][0]["weights"][name] = torch.full_like(payload["members"][0]["weights"][name], float("nan"))


def _wrong_shape(payload):
    name = next(iter(payload["members"][0]["weights"]))
    payload["members"][0]["weights"][name] = torch.zeros(7, 3)


CRAFTED = {
    "no members": ("clf", lambda p: p.update(members=[]), "one set of weights, the file holds 0"),
    "no classes": ("clf", lambda p: p.pop("classes"), "has no 'classes'"),
    "params not JSON": ("clf", lambda p: p.update(params="{"), r"\['params'\] is not valid JSON"),
    "member params not JSON": ("clf", lambda p: p["members"][0].update(params="[1,"), "not valid JSON"),
    "NaN weights": ("clf", _nan_weights, "NaN or infinite"),
    "truncating dtype": ("clf", lambda p: p.update(classes_dtype="<U1"), "do not survive their stored dtype '<U1'"),
    "one class": ("clf", lambda p: p.update(classes='["a"]', classes_dtype="<U1"), "at least two distinct"),
    "bad parameter": ("clf", lambda p: p["members"][0].update(params='{"hidden_size": -3}'),
                      "hidden_size.*must be an int in the range"),
    "unknown parameter": ("clf", lambda p: p["members"][0].update(params='{"banana": 1}'), "banana"),
    "wrong weight shape": ("clf", _wrong_shape, "the weights do not fit its parameters"),
    "bad instance shape": ("clf", lambda p: p.update(instance_shape=[0]), "not a list of positive ints"),
    "unknown class": ("clf", lambda p: p.update({"class": "Pipeline"}), "neither AttentionMILClassifier"),
    "ensemble without members": ("ensemble", lambda p: p.update(members=[]), "n_estimators=2 but the file holds 0"),
    "ensemble bad parameter": ("ensemble", lambda p: p.update(params=p["params"].replace('"combine": "mean"',
                                                                                          '"combine": "banana"')),
                               "combine"),
}


@pytest.mark.parametrize("case", CRAFTED)
def test_a_crafted_but_loadable_file_is_a_value_error_that_says_what_is_wrong(tmp_path, saved, case):
    import copy

    which, damage, message = CRAFTED[case]
    payload = copy.deepcopy(saved[which])
    damage(payload)
    torch.save(payload, tmp_path / "crafted.pt")
    with pytest.raises(ValueError, match=f"is a damaged setlearn model file.*{message}"):
        load_model(tmp_path / "crafted.pt")


def test_saving_to_a_folder_or_a_pipeline_says_what_to_do(tmp_path, bags):
    from sklearn.pipeline import make_pipeline

    from setlearn import InstanceTransformer

    X, y, _ = bags
    clf = AttentionMILClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="is a folder; save_model writes one file: pass a file name such as"):
        save_model(clf, tmp_path)
    with pytest.raises(FileNotFoundError, match="the folder .*missing' does not exist"):
        save_model(clf, tmp_path / "missing" / "model.pt")
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(InstanceTransformer(StandardScaler()), AttentionMILClassifier(**FAST)).fit(X, y)
    with pytest.raises(TypeError, match=r"A Pipeline is not saved as a whole.*save_model\(pipe\[-1\], path\)"):
        save_model(pipe, tmp_path / "pipe.pt")
