import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from setlearn.bags import bags_from_anndata, bags_from_frame, instance_values_to_frame


@pytest.fixture
def frame():
    return pd.DataFrame({
        "patient": ["p2", "p1", "p2", "p3", "p1", "p2"],
        "f1": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        "f2": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0],
        "sick": [1, 0, 1, 1, 0, 1],
    }, index=[f"row{i}" for i in range(6)])


def test_bags_in_order_of_first_appearance_rows_in_order(frame):
    X, y, bag_ids = bags_from_frame(frame, "patient", label="sick")
    assert bag_ids.tolist() == ["p2", "p1", "p3"]
    assert y.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(X[0], [[0, 10], [2, 12], [5, 15]])
    np.testing.assert_array_equal(X[1], [[1, 11], [4, 14]])
    np.testing.assert_array_equal(X[2], [[3, 13]])


def test_labels_as_series_and_feature_selection(frame):
    X, y, bag_ids = bags_from_frame(frame.drop(columns="sick"), "patient",
                                    labels={"p1": "no", "p2": "yes", "p3": "yes", "p9": "no"},
                                    features=["f2"])
    assert y.tolist() == ["yes", "no", "yes"] and X[1].tolist() == [[11.0], [14.0]]
    X, y, _ = bags_from_frame(frame, "patient", features=["f1", "f2", "sick"])
    assert y is None and X[0].shape == (3, 3)  # named explicitly, any column may be a feature
    with pytest.raises(ValueError, match=r"the column\(s\) \['sick'\] look like ground truth"):
        bags_from_frame(frame, "patient")  # inferred, a label-like column is refused


def test_frame_errors_say_what_to_fix(frame):
    with pytest.raises(ValueError, match="label='diagnosis' is not a column of frame"):
        bags_from_frame(frame, "patient", label="diagnosis")
    inconsistent = frame.assign(sick=[1, 0, 0, 1, 0, 1])
    with pytest.raises(ValueError, match="Bag 'p2' has 2 different values in the label column 'sick'"):
        bags_from_frame(inconsistent, "patient", label="sick")
    with pytest.raises(ValueError, match=r"labels has no entry for 1 bag\(s\), e.g. \['p3'\]"):
        bags_from_frame(frame, "patient", labels=pd.Series({"p1": 0, "p2": 1}), features=["f1"])
    with pytest.raises(ValueError, match="either a label column or labels"):
        bags_from_frame(frame, "patient", label="sick", labels={"p1": 0})
    with pytest.raises(ValueError, match=r"must be numeric.*non-numeric: \['site'\]"):
        bags_from_frame(frame.assign(site="a"), "patient", label="sick")
    with pytest.raises(ValueError, match=r"bag column 'patient' is missing for rows at positions \[1\]"):
        bags_from_frame(frame.assign(patient=["p2", None, "p2", "p3", "p1", "p2"]), "patient", label="sick")
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        bags_from_frame(frame.to_numpy(), "patient")


def test_the_way_back_aligns_values_with_rows(frame):
    X, y, bag_ids = bags_from_frame(frame, "patient", label="sick")
    # A stand-in explanation: each instance's first feature, so the column must equal f1.
    column = instance_values_to_frame([bag[:, 0] for bag in X], frame, "patient", name="f1_back")
    pd.testing.assert_series_equal(column, frame["f1"].rename("f1_back"))
    test_only = instance_values_to_frame([X[2][:, 0], X[0][:, 0]], frame, "patient", bag_ids=["p3", "p2"])
    assert test_only.isna().tolist() == [False, True, False, False, True, False]
    assert test_only["row3"] == 3.0
    with pytest.raises(ValueError, match="values has 2 entries but frame has 3 bags; pass bag_ids="):
        instance_values_to_frame([X[0][:, 0], X[1][:, 0]], frame, "patient")
    with pytest.raises(ValueError, match=r"Entry 0 of values has 2 values but bag 0 has 3"):
        instance_values_to_frame([[0.5, 0.5], [1.0, 0.0], [1.0]], frame, "patient")
    with pytest.raises(ValueError, match=r"bag_ids \['p7'\] are not in the column 'patient'"):
        instance_values_to_frame([[1.0]], frame, "patient", bag_ids=["p7"])


def test_anndata_x_sparse_obsm_layers_and_way_back(frame):
    anndata = pytest.importorskip("anndata")
    obs = frame[["patient", "sick"]].copy()
    counts = frame[["f1", "f2"]].to_numpy(dtype=np.float32)
    adata = anndata.AnnData(sp.csr_matrix(counts), obs=obs)
    adata.obsm["X_pca"] = counts[:, ::-1] * 2
    adata.layers["raw"] = counts + 100
    X, y, bag_ids = bags_from_anndata(adata, "patient", label="sick")
    assert bag_ids.tolist() == ["p2", "p1", "p3"] and y.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(X[1], [[1, 11], [4, 14]])
    X_pca, _, _ = bags_from_anndata(adata, "patient", use_rep="X_pca")
    np.testing.assert_array_equal(X_pca[2], [[26, 6]])
    X_raw, _, _ = bags_from_anndata(adata, "patient", layer="raw")
    np.testing.assert_array_equal(X_raw[2], [[103, 113]])
    adata.obs["attention"] = instance_values_to_frame([bag[:, 0] for bag in X], adata.obs, "patient")
    np.testing.assert_array_equal(adata.obs["attention"], frame["f1"])
    with pytest.raises(ValueError, match=r"'X_umap' is not in adata.obsm; its keys are \['X_pca'\]"):
        bags_from_anndata(adata, "patient", use_rep="X_umap")
    with pytest.raises(ValueError, match="bag='sample' is not a column of adata.obs"):
        bags_from_anndata(adata, "sample")
    with pytest.raises(TypeError, match="must be an AnnData"):
        bags_from_anndata(frame, "patient")


def test_frame_to_fit_in_three_lines(frame):
    from setlearn import AttentionMILClassifier

    X, y, bag_ids = bags_from_frame(frame, "patient", label="sick")
    clf = AttentionMILClassifier(hidden_size=2, attention_size=2, max_epochs=2, random_state=0).fit(X, y)
    frame["attention"] = instance_values_to_frame(clf.explain(X), frame, "patient")
    np.testing.assert_allclose(frame.groupby("patient")["attention"].sum(), 1.0, rtol=1e-6)


# --------------------------------------------------------------------------- ground truth never a feature


def test_an_importance_column_is_returned_per_bag_and_never_a_feature(frame):
    from setlearn import importance_auroc_score

    frame = frame.assign(witness=[1, 0, 0, 1, 0, 0])
    X, y, bag_ids, importance = bags_from_frame(frame, "patient", label="sick", importance="witness")
    assert X[0].shape == (3, 2)  # f1, f2: neither the label nor the importance
    assert [i.tolist() for i in importance] == [[1.0, 0.0, 0.0], [0.0, 0.0], [1.0]]
    assert importance_auroc_score(importance[:1], [np.array([0.8, 0.1, 0.1])], y=y[:1]) == 1.0  # for the scorers
    with pytest.raises(ValueError, match="importance='truth' is not a column of frame"):
        bags_from_frame(frame, "patient", label="sick", importance="truth")
    with pytest.raises(ValueError, match="features include the importance column"):
        bags_from_frame(frame, "patient", label="sick", importance="witness", features=["f1", "witness"])


@pytest.mark.parametrize("name", ["importance", "true_importance", "is_witness", "ground_truth", "label", "target"])
def test_inferred_features_refuse_a_column_that_looks_like_ground_truth(frame, name):
    leaky = frame.assign(**{name: [1, 0, 0, 1, 0, 0]})
    with pytest.raises(ValueError, match=rf"\['{name}'\] look like ground truth.*features=\[\.\.\.\]"):
        bags_from_frame(leaky, "patient", label="sick")
    X, _, _ = bags_from_frame(leaky, "patient", label="sick", features=["f1", "f2"])  # named: fine
    assert X[0].shape == (3, 2)


def test_inferred_features_warn_about_a_bag_constant_binary_column(frame):
    frame = frame.assign(treated=[1, 0, 1, 0, 0, 1])  # constant within each bag
    with pytest.warns(UserWarning, match="'treated' takes two values and is constant within every bag"):
        bags_from_frame(frame, "patient", label="sick")


def test_frame_edge_cases_are_clear_errors(frame):
    with pytest.raises(ValueError, match="frame has no rows"):
        bags_from_frame(frame.iloc[:0], "patient", label="sick")
    twice = pd.concat([frame, frame[["f1"]]], axis=1)
    with pytest.raises(ValueError, match=r"frame has duplicate column names \['f1'\]"):
        bags_from_frame(twice, "patient", label="sick")
    with pytest.raises(ValueError, match=r"frame has duplicate column names \['f1'\]"):
        bags_from_frame(twice, "patient", label="sick", features=["f1"])
    with pytest.raises(ValueError, match=r"features has duplicate column names \['f2'\]"):
        bags_from_frame(frame, "patient", label="sick", features=["f2", "f2"])
    with pytest.raises(ValueError, match="features include the label column"):
        bags_from_frame(frame, "patient", label="sick", features=["f1", "sick"])
    with pytest.raises(ValueError, match="features include the bag column"):
        bags_from_frame(frame, "patient", label="sick", features=["patient"])


def test_the_way_back_refuses_a_bag_named_twice(frame):
    with pytest.raises(ValueError, match=r"bag_ids names the bag\(s\) \['p2'\] more than once"):
        instance_values_to_frame([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], frame, "patient", bag_ids=["p2", "p2"])


def test_a_path_instead_of_an_anndata_says_to_read_it_first():
    with pytest.raises(TypeError, match=r"got str\. Read the file first: adata = anndata.read_h5ad\(path\)"):
        bags_from_anndata("cells.h5ad", "donor")
