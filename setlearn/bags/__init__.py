"""Bags: validation, and padded, masked batches of bags.

A *bag* is an array of shape ``(n_instances, *instance_shape)``; a data set of bags
(``X`` everywhere in setlearn) is one of

* a list or tuple of such arrays (bags may differ in length),
* a 1-D ``object`` array of such arrays,
* one numeric array of shape ``(n_bags, n_instances, *instance_shape)``.

Every estimator and scorer of setlearn validates its input with :func:`check_bags`
(and per-instance values such as importance labels with
:func:`check_instance_values`), so the same mistake gets the same message
everywhere.

Bags from the tables users hold: :func:`bags_from_frame` (a long DataFrame,
one row per instance) and :func:`bags_from_anndata` (cells of an AnnData,
grouped by an ``obs`` column); :func:`instance_values_to_frame` puts
per-instance values such as attention back on the rows they came from.
"""

from ._validation import bag_sizes, check_bag_labels, check_bags, check_instance_values
from ._padding import PaddedBags, distinct_instances, max_padded_elements, size_bucketed_batches
from ._convert import bags_from_anndata, bags_from_frame, instance_values_to_frame

__all__ = [
    "check_bags",
    "check_bag_labels",
    "check_instance_values",
    "bag_sizes",
    "PaddedBags",
    "size_bucketed_batches",
    "max_padded_elements",
    "distinct_instances",
    "bags_from_frame",
    "bags_from_anndata",
    "instance_values_to_frame",
]
