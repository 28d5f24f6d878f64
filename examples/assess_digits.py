"""A small study on images: does attention find the 3s and 9s?

Runs ``setlearn.assess`` with a custom configuration on the digits modality
(scikit-learn's 8x8 digits; 3 = population 1, 9 = population 2), then shows
Table 1 and where to find the bag figures: for each task, one test bag with the
attention of an accurate model that explains well, and, when the run has one, of
an accurate model that explains badly (a silent failure). In those figures a red
frame marks an important instance (a 3 or a 9, known by construction) and the
number above each image is its attention weight; a bag's weights sum to 1, and
the key under the images gives the uniform weight 1/n to compare them with.
About a minute on two cores; rerunning it resumes (and here: finds everything done).

    python examples/assess_digits.py
"""

import setlearn

config = {
    "description": "Example: digits MIL and AND, 2 configurations, 4 retrains each.",
    "modalities": ["digits"],
    "problems": ["mil", "and"],
    "n_train_bags": 200,
    "n_valid_bags": 60,
    "n_test_bags": 60,
    "bag_size": 30,
    "grid": {"digits": {"hidden_size": [16], "attention_size": [2, 8], "featurizer_depth": [1],
                        "classifier_depth": [1]}},
    "estimator_params": {"max_epochs": 40},
    "search_seeds": 1,
    "top_k": 1,
    "n_retrain": 4,
    "max_ensemble_size": 4,
    "n_ensembles": 5,
}

result = setlearn.assess("smoke", config=config, out="setlearn-results/example-digits", n_jobs=2)

print(result.tables["top_configurations"][["problem", "n_bad_configurations", "mean_iauc_roc", "mean_test_accuracy"]])
for name, path in result.figures.items():
    if "_bag" in name:
        print(f"\n{path}\n  {result.captions[name]}")
print("\nEverything else:", result.report, "and, with the figures embedded,", result.report.with_suffix(".html"))
