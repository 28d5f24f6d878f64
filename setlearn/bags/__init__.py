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
"""

from ._validation import bag_sizes, check_bag_labels, check_bags, check_instance_values
from ._padding import PaddedBags, distinct_instances, max_padded_elements, size_bucketed_batches

__all__ = [
    "check_bags",
    "check_bag_labels",
    "check_instance_values",
    "bag_sizes",
    "PaddedBags",
    "size_bucketed_batches",
    "max_padded_elements",
    "distinct_instances",
]
