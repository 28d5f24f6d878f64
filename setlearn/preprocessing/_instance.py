"""InstanceTransformer: a scikit-learn transformer fitted on, and applied to, the instances of bags."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..bags import bag_sizes, check_bags
from ..bags._dense import densify


# auto_wrap_output_keys=None: the output is a list of bags, which scikit-learn's
# set_output (transform_output="pandas") cannot turn into one DataFrame.
class InstanceTransformer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Fit a scikit-learn transformer on the instances of bags and apply it to every instance.

    ``fit`` stacks the instances of all training bags into one 2-D array
    ``(n_instances_total, n_features)`` and fits a clone of ``transformer`` on
    it; ``transform`` applies the fitted clone to the instances and cuts the
    result back into bags of the same sizes. Inside a
    :class:`~sklearn.pipeline.Pipeline` the transformer is therefore fitted on
    the training bags of each fold only, as cross-validation requires.

    Image instances (shape ``(H, W)`` or ``(C, H, W)``) are flattened to
    vectors for the transformer; when it keeps the number of features, the
    result is reshaped back to the instance shape.

    Parameters
    ----------
    transformer : estimator object
        A scikit-learn transformer (``fit`` and ``transform``) that maps each
        row to one row, e.g. ``StandardScaler()``, ``SimpleImputer()`` or
        ``PCA(10)``. It is cloned, never modified. Transformers that add or
        drop rows (samplers, outlier removers) are rejected.

    Attributes
    ----------
    transformer_ : estimator object
        The clone of ``transformer`` fitted on the stacked training instances.
    instance_shape_ : tuple of int
        Shape of one instance seen during fit.
    n_features_in_ : int
        Number of values per instance seen during fit (the product of
        ``instance_shape_``).

    See Also
    --------
    setlearn.AttentionMILClassifier : The estimator usually placed after it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from setlearn.preprocessing import InstanceTransformer
    >>> X = [np.array([[0.0, 10.0], [2.0, 30.0]]), np.array([[4.0, 20.0]])]
    >>> scaled = InstanceTransformer(StandardScaler()).fit_transform(X)
    >>> [bag.shape for bag in scaled]
    [(2, 2), (1, 2)]
    >>> np.vstack(scaled).mean(axis=0).round(6).tolist()
    [0.0, 0.0]
    """

    def __init__(self, transformer):
        self.transformer = transformer

    def fit(self, X, y=None, **fit_params):
        """Fit a clone of ``transformer`` on the instances of all bags of ``X``.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags of shape ``(n_instances, *instance_shape)``. NaN values are
            allowed, for imputers.
        y : array-like of shape (n_bags,), default=None
            Bag labels; not used (an instance has no label of its own).
        **fit_params : dict
            Passed to the ``fit`` method of the transformer.

        Returns
        -------
        self : InstanceTransformer
            The fitted transformer.
        """
        if not (hasattr(self.transformer, "fit") and hasattr(self.transformer, "transform")):
            raise TypeError(
                f"transformer must be a scikit-learn transformer with fit and transform, got "
                f"{self.transformer!r}."
            )
        bags = check_bags(X, ensure_all_finite=False)
        instances = _stack(bags)
        transformer = clone(self.transformer).fit(instances, **fit_params)
        # Check the row count now, so that a sampler fails at fit with a clear
        # message instead of later with misaligned bags.
        _check_same_rows(transformer, transformer.transform(instances[:1]), n_rows=1)
        self.transformer_ = transformer
        self.instance_shape_ = bags[0].shape[1:]
        self.n_features_in_ = instances.shape[1]
        return self

    def transform(self, X):
        """Apply the fitted transformer to every instance of every bag.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags with the instance shape seen during fit.

        Returns
        -------
        bags : list of ndarray
            One array per bag, with as many instances as the input bag:
            of the input instance shape when the transformer keeps the
            number of features, else of shape ``(n_instances, n_features_out)``.
        """
        check_is_fitted(self, "transformer_")
        bags = check_bags(X, instance_shape=self.instance_shape_, ensure_all_finite=False)
        instances = _stack(bags)
        transformed = self.transformer_.transform(instances)
        _check_same_rows(self.transformer_, transformed, n_rows=len(instances))
        # Bags are dense arrays throughout setlearn; a sparse output is checked before densifying.
        transformed = densify(transformed, f"returned by {type(self.transformer_).__name__}.transform")
        if transformed.shape[1] == self.n_features_in_:
            transformed = transformed.reshape((len(transformed), *self.instance_shape_))
        return np.split(transformed, np.cumsum(bag_sizes(bags))[:-1])

    def get_feature_names_out(self, input_features=None):
        """Names of the features of a transformed instance.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Names of the input features; ``None`` uses ``x0``, ``x1``, ...

        Returns
        -------
        feature_names_out : ndarray of str
            The names the fitted transformer gives its output features.
        """
        check_is_fitted(self, "transformer_")
        if input_features is None:
            input_features = [f"x{i}" for i in range(self.n_features_in_)]
        elif len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features has {len(input_features)} names, but the instances seen during "
                f"fit have {self.n_features_in_} features; pass one name per feature."
            )
        names_out = getattr(self.transformer_, "get_feature_names_out", None)
        if names_out is None:
            raise AttributeError(
                f"{type(self.transformer_).__name__} has no get_feature_names_out, so the names "
                f"of the transformed features are unknown."
            )
        return np.asarray(names_out(np.asarray(input_features, dtype=object)), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = True
        return tags


def _stack(bags):
    """All instances of all bags as one 2-D array (images flattened to vectors)."""
    return np.concatenate([bag.reshape(len(bag), -1) for bag in bags])


def _check_same_rows(transformer, transformed, *, n_rows):
    if transformed.shape[0] != n_rows:
        raise ValueError(
            f"{type(transformer).__name__} returned {transformed.shape[0]} rows for {n_rows} "
            f"instances. InstanceTransformer needs a transformer that maps every instance to "
            f"one row (scalers, imputers, projections); samplers and outlier removers change "
            f"which instances a bag holds and cannot be used here."
        )
