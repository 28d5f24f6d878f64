"""AttentionEnsemble: many attention models, one explanation, and a warning when they disagree.

The study behind setlearn found that single attention models often point at
the wrong instances while classifying perfectly ("silent failures"), and that
averaging the attention of several models makes bad explanations rare. This
module turns that remedy into an estimator, plus a ground-truth-free signal:
when the members rank the instances of a bag very differently, their
explanation deserves less trust.
"""

from ._ensemble import AttentionEnsemble
from ._agreement import AGREEMENT_MEASURES, AttentionDisagreementWarning, COMBINATION_RULES, combine_attention, combine_scores, pairwise_agreement

__all__ = [
    "AttentionEnsemble",
    "AttentionDisagreementWarning",
    "combine_attention",
    "combine_scores",
    "pairwise_agreement",
    "AGREEMENT_MEASURES",
    "COMBINATION_RULES",
]
