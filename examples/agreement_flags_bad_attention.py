"""Does low member agreement flag bad attention, without ground truth?

For the study's problems (MIL, AND, XOR) on Gaussian data and on digits, train
single-configuration ensembles of 10 members for a few configurations. For every
member, compare its attention with the other members' (as ``member_agreement``
does); for every ensemble, take the mean agreement over the test bags (as
``attention_agreement`` does), for each of the agreement measures
(``setlearn.ensemble.pairwise_agreement``). Then ask how well *low* agreement picks out models
and ensembles with a bad explanation (test iAUC-ROC < 0.65): the AUROC of
``-agreement`` against that label (0.5 = no better than chance, 1 = perfect).

Run: ``python examples/agreement_flags_bad_attention.py`` (a few minutes on 2 cores).
The numbers are quoted in docs/ensembles.md.
"""

import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from setlearn import AttentionEnsemble, AttentionMILClassifier, importance_auroc_score, make_bags
from setlearn.ensemble import AGREEMENT_MEASURES, combine_attention, pairwise_agreement

BAD = 0.65
SETTINGS = {
    "gaussian": dict(bag_size=20, configs=[(4, 1), (4, 4), (8, 2), (8, 8)], max_epochs=100),
    "digits": dict(bag_size=10, configs=[(8, 1), (16, 8)], max_epochs=40),
}


def run(n_members=10, n_bags=200, seed=0):
    models, ensembles = [], []
    for modality, setting in SETTINGS.items():
        for problem in ("mil", "and", "xor"):
            pools = {"pool": "train"} if modality == "digits" else {}
            X, y, _ = make_bags(problem, modality, n_bags=n_bags, bag_size=setting["bag_size"],
                                random_state=seed, **pools)
            pools = {"pool": "test"} if modality == "digits" else {}
            X_test, y_test, importance = make_bags(problem, modality, n_bags=n_bags, bag_size=setting["bag_size"],
                                                   random_state=seed + 1, **pools)
            for hidden, attention in setting["configs"]:
                start = time.perf_counter()
                base = AttentionMILClassifier(hidden_size=hidden, attention_size=attention,
                                              max_epochs=setting["max_epochs"])
                ensemble = AttentionEnsemble(base, n_estimators=n_members, agreement_threshold=None,
                                             random_state=seed).fit(X, y)
                member_attention = ensemble.explain_members(X_test)
                model_rows = [dict(modality=modality, problem=problem, hidden=hidden, attention=attention,
                                   iauc=importance_auroc_score(importance, a, y=y_test)) for a in member_attention]
                ensemble_row = dict(modality=modality, problem=problem, hidden=hidden, attention=attention,
                                    iauc=importance_auroc_score(importance, combine_attention(member_attention), y=y_test),
                                    accuracy=ensemble.score(X_test, y_test))
                for measure in AGREEMENT_MEASURES:
                    pairwise = pairwise_agreement(member_attention, measure)
                    off_diagonal = pairwise.copy()
                    off_diagonal[:, np.arange(n_members), np.arange(n_members)] = np.nan
                    per_member = np.nanmean(np.nanmean(off_diagonal, axis=2), axis=0)
                    for row, value in zip(model_rows, per_member):
                        row[measure] = value
                    ensemble_row[measure] = np.nanmean(off_diagonal)
                models += model_rows
                ensembles.append(ensemble_row)
                print(f"{modality:8} {problem:4} h={hidden:<2} a={attention:<2} ensemble iAUC "
                      f"{ensembles[-1]['iauc']:.2f} agreement (weighted tau) {ensembles[-1]['weighted_tau']:.2f} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
    return pd.DataFrame(models), pd.DataFrame(ensembles)


def flag_auroc(frame, measure):
    bad = frame["iauc"] < BAD
    if bad.nunique() < 2:
        return np.nan
    return roc_auc_score(bad, -frame[measure].fillna(frame[measure].min()))


def main():
    models, ensembles = run()
    rows = []
    for unit, frame in (("single models", models), ("10-member ensembles", ensembles)):
        for modality, part in [("all", frame), *frame.groupby("modality")]:
            rows.append(dict(unit=unit, modality=modality, n=len(part), bad=int((part["iauc"] < BAD).sum()),
                             **{measure: round(flag_auroc(part, measure), 3) for measure in AGREEMENT_MEASURES}))
    print("\nAUROC of low agreement as a flag for iAUC-ROC < 0.65 (0.5 = chance), per agreement measure:")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
