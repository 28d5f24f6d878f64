import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from setlearn import AttentionMILClassifier, importance_auroc, make_bags
from setlearn.preprocessing import InstanceTransformer


def ragged_bags(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(loc=[5.0, -3.0, 100.0], scale=[1.0, 2.0, 10.0], size=(n, 3)) for n in (2, 5, 1, 4)]


def test_fits_on_stacked_instances_and_keeps_bag_sizes():
    X = ragged_bags()
    transformer = InstanceTransformer(StandardScaler()).fit(X)
    stacked = np.vstack(X)
    np.testing.assert_allclose(transformer.transformer_.mean_, stacked.mean(axis=0), rtol=1e-5)
    out = transformer.transform(X)
    assert [len(b) for b in out] == [2, 5, 1, 4]
    np.testing.assert_allclose(np.vstack(out).mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(np.vstack(out).std(axis=0), 1, atol=1e-5)
    assert transformer.n_features_in_ == 3 and transformer.instance_shape_ == (3,)


def test_width_changing_transformer_and_feature_names():
    X = ragged_bags()
    pca = InstanceTransformer(PCA(n_components=2)).fit(X)
    assert [b.shape for b in pca.transform(X)] == [(2, 2), (5, 2), (1, 2), (4, 2)]
    assert pca.get_feature_names_out().tolist() == ["pca0", "pca1"]
    scaler = InstanceTransformer(StandardScaler()).fit(X)
    assert scaler.get_feature_names_out().tolist() == ["x0", "x1", "x2"]
    assert scaler.get_feature_names_out(["a", "b", "c"]).tolist() == ["a", "b", "c"]
    with pytest.raises(ValueError, match="input_features has 2 names.*3 features"):
        scaler.get_feature_names_out(["a", "b"])
    with pytest.raises(AttributeError, match="FunctionTransformer has no get_feature_names_out"):
        InstanceTransformer(FunctionTransformer(np.abs)).fit(X).get_feature_names_out()


def test_image_instances_keep_their_shape():
    rng = np.random.default_rng(0)
    X = [rng.random((n, 8, 8)) for n in (3, 6)]
    out = InstanceTransformer(StandardScaler()).fit_transform(X)
    assert [b.shape for b in out] == [(3, 8, 8), (6, 8, 8)]
    assert [b.shape for b in InstanceTransformer(PCA(4)).fit_transform(X)] == [(3, 4), (6, 4)]


def test_imputer_sees_nan_and_sparse_output_is_densified():
    X = [np.array([[1.0, np.nan], [3.0, 4.0]]), np.array([[np.nan, 8.0]])]
    out = InstanceTransformer(SimpleImputer()).fit_transform(X)
    np.testing.assert_allclose(out[0], [[1.0, 6.0], [3.0, 4.0]])
    np.testing.assert_allclose(out[1], [[2.0, 8.0]])
    onehot = InstanceTransformer(OneHotEncoder()).fit_transform([np.array([[0.0], [1.0]]), np.array([[1.0]])])
    np.testing.assert_array_equal(onehot[1], [[0.0, 1.0]])


def test_pandas_output_config_still_returns_bags():
    X = ragged_bags()
    with sklearn.config_context(transform_output="pandas"):
        out = InstanceTransformer(StandardScaler()).fit_transform(X)
    assert [type(bag) for bag in out] == [np.ndarray] * 4 and [len(b) for b in out] == [2, 5, 1, 4]


def test_transformers_that_change_the_rows_are_rejected():
    drop_last = FunctionTransformer(lambda instances: instances[:-1])
    with pytest.raises(ValueError, match=r"FunctionTransformer returned 0 rows for 1 instances.*samplers"):
        InstanceTransformer(drop_last).fit(ragged_bags())
    with pytest.raises(TypeError, match="must be a scikit-learn transformer"):
        InstanceTransformer(AttentionMILClassifier()).fit(ragged_bags())


def test_unfitted_wrong_shape_and_params_untouched():
    scaler = StandardScaler()
    transformer = InstanceTransformer(scaler)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        transformer.transform(ragged_bags())
    transformer.fit(ragged_bags())
    assert transformer.transformer is scaler and not hasattr(scaler, "mean_")
    with pytest.raises(ValueError, match="fitted on instances of shape"):
        transformer.transform([np.zeros((2, 4))])
    restored = pickle.loads(pickle.dumps(transformer))
    np.testing.assert_allclose(restored.transform(ragged_bags(1))[0], transformer.transform(ragged_bags(1))[0])
    assert clone(transformer).get_params()["transformer"] is not scaler


def test_pipeline_in_cross_validate_and_grid_search():
    X, y, importance = make_bags("mil", "gaussian", n_bags=40, bag_size=6, random_state=0)
    X = [bag * 50 + 1000 for bag in X]  # far from unit scale: the scaler has work to do
    pipe = make_pipeline(InstanceTransformer(StandardScaler()),
                         AttentionMILClassifier(hidden_size=2, attention_size=2, max_epochs=3, random_state=0))
    with sklearn.config_context(enable_metadata_routing=True):
        scores = cross_validate(pipe, X, y, cv=2, scoring={"accuracy": "accuracy", "iauc": importance_auroc},
                                params={"importance": importance}, error_score="raise")
        search = GridSearchCV(pipe, {"attentionmilclassifier__attention_size": [1, 2]}, cv=2,
                              scoring=importance_auroc, error_score="raise").fit(X, y, importance=importance)
    assert np.all((scores["test_iauc"] >= 0) & (scores["test_iauc"] <= 1))
    assert search.best_params_["attentionmilclassifier__attention_size"] in (1, 2)
    assert search.predict(X[:3]).shape == (3,)
