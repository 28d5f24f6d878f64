"""``setlearn.explain``: one way to explain a fitted setlearn estimator, bare or at the end of a Pipeline.

A scikit-learn ``Pipeline`` has no ``explain`` method, and scikit-learn offers no
way to add one; this function applies the pipeline's transforms to the bags (as
``Pipeline.predict`` does) and then the final estimator's ``explain``. The
importance scorers find the explainer the same way (one code path,
:func:`setlearn.metrics._scorer._explainer`).
"""

from .metrics._scorer import _explainer


def explain(model, X, *, method="attention", target=None):
    """Per-instance explanations of a fitted estimator, or of a Pipeline that ends in one.

    For a :class:`~sklearn.pipeline.Pipeline`, the bags go through every step
    but the last (``transform``, as in ``Pipeline.predict``), and the last
    step's ``explain`` scores the transformed bags; the instances keep their
    bags and order, so the scores belong to the bags of ``X``.

    Parameters
    ----------
    model : AttentionMILClassifier, AttentionEnsemble or Pipeline
        A fitted estimator with an ``explain`` method, or a fitted Pipeline
        whose last step has one.
    X : list of array-like, 1-D object array, or ndarray
        The bags.
    method : str, default="attention"
        The explainer, as in
        :meth:`AttentionMILClassifier.explain <setlearn.AttentionMILClassifier.explain>`.
    target : int, array-like of int or None, default=None
        The class to explain, as an index into ``classes_``; as in
        :meth:`AttentionMILClassifier.explain <setlearn.AttentionMILClassifier.explain>`.

    Returns
    -------
    scores : list of ndarray
        One 1-D array per bag of ``X``, of that bag's length.

    Raises
    ------
    TypeError
        If ``model`` has no ``explain`` method and is not a Pipeline whose
        last step has one.

    Examples
    --------
    >>> import setlearn
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y, _ = setlearn.make_bags("mil", n_bags=20, bag_size=5, random_state=0)
    >>> pipe = make_pipeline(setlearn.InstanceTransformer(StandardScaler()),
    ...                      setlearn.AttentionMILClassifier(max_epochs=2, random_state=0)).fit(X, y)
    >>> weights = setlearn.explain(pipe, X[:2])
    >>> [len(w) for w in weights] == [len(bag) for bag in X[:2]], round(float(weights[0].sum()), 5)
    (True, 1.0)
    >>> len(setlearn.explain(pipe, X[:2], method="drop_one")[0]) == len(X[0])
    True
    """
    explain_bags, X_explained = _explainer(model, X)
    return explain_bags(X_explained, method=method, target=target)
