"""
Does low member agreement flag bad attention, without ground truth?
===================================================================

For the study's problems (MIL, AND, XOR) on Gaussian data and on digits, train
single-configuration ensembles of 10 members for a few configurations. Then,
using only the members' attention on the test bags:

* every **model** gets its mean agreement with the other members (what
  ``AttentionEnsemble.member_agreement`` computes);
* every **ensemble** gets the mean pairwise agreement of its members averaged
  over the bags (what ``AttentionEnsemble.attention_agreement`` and the
  ``AttentionDisagreementWarning`` use). Besides the 10-member ensembles, random
  5-member sub-ensembles are drawn from their members, as the study drew its
  ensembles from trained models.

How well does *low* agreement pick out models and ensembles with a bad
explanation (test iAUC-ROC < 0.65)? The script prints the AUROC of
``-agreement`` against that label for each agreement measure (0.5 = chance,
1 = perfect), and, for the default measure, what share of bad and of good
ensembles a given warning threshold flags.

Run: ``python examples/agreement_flags_bad_attention.py`` (about 3 minutes on 2 quiet cores).
The numbers are quoted in docs/ensembles.md.
"""

import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from setlearn import AttentionEnsemble, AttentionMILClassifier, importance_auroc_score, make_bags
from setlearn.ensemble import AGREEMENT_MEASURES, combine_attention, pairwise_agreement

BAD = 0.65
N_MEMBERS, SUB_SIZE, N_SUB = 10, 5, 10
SETTINGS = {
    "gaussian": dict(bag_size=20, configs=[(4, 1), (4, 4), (8, 2), (8, 8)], max_epochs=100),
    "digits": dict(bag_size=10, configs=[(8, 1), (16, 8)], max_epochs=40),
}


def off_diagonal(pairwise):
    out = pairwise.copy()
    n = out.shape[1]
    out[:, np.arange(n), np.arange(n)] = np.nan
    return out


def agreements(member_attention):
    """Per measure: (per-member agreement with the others, ensemble agreement)."""
    out = {}
    for measure in AGREEMENT_MEASURES:
        pairwise = off_diagonal(pairwise_agreement(member_attention, measure))
        with np.errstate(all="ignore"):
            out[measure] = (np.nanmean(pairwise, axis=(0, 2)), np.nanmean(pairwise))
    return out


def run(n_bags=200, seed=0):
    rng = np.random.default_rng(seed)
    models, ensembles = [], []
    for modality, setting in SETTINGS.items():
        for problem in ("mil", "and", "xor"):
            data = {}
            for split, split_seed in (("train", seed), ("test", seed + 1)):
                pool = {"pool": split} if modality == "digits" else {}
                data[split] = make_bags(problem, modality, n_bags=n_bags, bag_size=setting["bag_size"],
                                        random_state=split_seed, **pool)
            (X, y, _), (X_test, y_test, importance) = data["train"], data["test"]
            for hidden, attention in setting["configs"]:
                start = time.perf_counter()
                base = AttentionMILClassifier(hidden_size=hidden, attention_size=attention,
                                              max_epochs=setting["max_epochs"])
                ensemble = AttentionEnsemble(base, n_estimators=N_MEMBERS, agreement_threshold=None,
                                             random_state=seed).fit(X, y)
                member_attention = ensemble.explain_members(X_test)
                described = dict(modality=modality, problem=problem, hidden=hidden, attention=attention)
                per_measure = agreements(member_attention)
                for m, attention_m in enumerate(member_attention):
                    models.append({**described, "iauc": importance_auroc_score(importance, attention_m, y=y_test),
                                   **{k: v[0][m] for k, v in per_measure.items()}})
                draws = [np.arange(N_MEMBERS)] + [rng.choice(N_MEMBERS, SUB_SIZE, replace=False) for _ in range(N_SUB)]
                for members in draws:
                    chosen = [member_attention[i] for i in members]
                    ensembles.append({**described, "size": len(members),
                                      "iauc": importance_auroc_score(importance, combine_attention(chosen), y=y_test),
                                      **{k: v[1] for k, v in agreements(chosen).items()}})
                print(f"{modality:8} {problem:4} h={hidden:<2} a={attention:<2} 10-member iAUC "
                      f"{ensembles[-N_SUB - 1]['iauc']:.2f}, weighted-tau agreement "
                      f"{ensembles[-N_SUB - 1]['weighted_tau']:.2f} ({time.perf_counter() - start:.0f} s)", flush=True)
    return pd.DataFrame(models), pd.DataFrame(ensembles)


def flag_auroc(frame, measure):
    bad = frame["iauc"] < BAD
    if bad.nunique() < 2:
        return np.nan
    return roc_auc_score(bad, -frame[measure].fillna(frame[measure].min()))


def main():
    models, ensembles = run()
    rows = []
    for unit, frame in (("single models", models), ("ensembles (5 and 10)", ensembles)):
        for modality, part in [("all", frame), *frame.groupby("modality")]:
            rows.append(dict(unit=unit, modality=modality, n=len(part), bad=int((part["iauc"] < BAD).sum()),
                             **{measure: round(flag_auroc(part, measure), 3) for measure in AGREEMENT_MEASURES}))
    print("\nAUROC of low agreement as a flag for iAUC-ROC < 0.65 (0.5 = chance), per agreement measure:")
    print(pd.DataFrame(rows).to_string(index=False))
    bad = ensembles["iauc"] < BAD
    thresholds = []
    for threshold in (0.1, 0.2, 0.3, 0.4, 0.5):
        flagged = ensembles["weighted_tau"] < threshold
        thresholds.append(dict(threshold=threshold, bad_ensembles_flagged=f"{flagged[bad].mean():.0%}",
                               good_ensembles_flagged=f"{flagged[~bad].mean():.0%}"))
    print("\nWarning threshold on the weighted-tau agreement (ensembles):")
    print(pd.DataFrame(thresholds).to_string(index=False))


if __name__ == "__main__":
    main()
