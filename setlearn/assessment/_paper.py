"""The study's published numbers (Haab et al., 2022), to set beside ours."""

from __future__ import annotations




# Published numbers (paper-protocol.md). The paper's image data is MNIST; setlearn's
# "digits" modality plays that role and is compared against it.
PAPER_TABLE1 = {
    ("gaussian", "mil"): (0.84, 2), ("gaussian", "and"): (0.70, 5), ("gaussian", "xor"): (0.86, 4),
    ("digits", "mil"): (0.91, 0), ("digits", "and"): (0.69, 5), ("digits", "xor"): (0.91, 1),
}
"""Table 1 of the study: ``(modality, problem) -> (mean test iAUC-ROC, bad configurations out of 5)``."""

PAPER_TABLE3 = {
    ("gaussian", "mil"): (18.0, 0.0, 0.0), ("gaussian", "and"): (40.0, 7.3, 0.0),
    ("gaussian", "xor"): (17.3, 0.0, 0.0), ("digits", "mil"): (0.02, 0.0, 0.0),
    ("digits", "and"): (21.0, 0.0, 0.0), ("digits", "xor"): (4.0, 0.0, 0.0),
}
"""Table 3 of the study: ``(modality, problem) -> % bad explanations (single model,
20 members from one configuration, 20 members from several)``."""

_PAPER_DATA_NAMES = {"gaussian": "Gaussian", "digits": "MNIST"}
