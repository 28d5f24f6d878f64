"""The study end to end: does attention point at the important instances?

:func:`assess` reproduces the protocol of Haab et al. (2022, "Is Attention
Interpretation? A Quantitative Assessment On Sets") on synthetic bags whose
important instances are known by construction:

1. **search** -- every configuration of a grid is trained with a few seeds and
   ranked by mean validation accuracy;
2. **retrain** -- the top-k configurations are retrained with many seeds, and
   every model is measured on a held-out test set: bag accuracy, bag AUC,
   iAUC-ROC and iAUC-PR (attention weights scored against the true
   instance importance, positive bags only);
3. **ensembles** -- the stored test-set attention of the retrained models is
   averaged over random ensembles of 2..N members, drawn from one
   configuration or from several;
4. the study's **tables**, **figures** and a Markdown **report** that sets the
   published numbers beside ours are recomputed from the stored rows.

The stages pass typed data: a :class:`StudyConfig` (the checked configuration)
goes in, a :class:`StudyRecord` (the run folder, read) comes out, and the tables,
figures, report and :class:`AssessmentResult` are made from the record.

Everything lands in one folder. Only the main process writes to it; each
finished model is appended to ``models.csv`` and flushed to disk at once, so an
interrupted run (Ctrl-C, kill, a lost cluster) continues where it stopped when
the same command is run again.

Examples
--------
>>> import setlearn
>>> result = setlearn.assess("smoke", out="results/smoke", verbose=False)  # doctest: +SKIP
>>> result.tables["top_configurations"]  # doctest: +SKIP
"""

from ._runner import AssessmentResult, assess
from ._config import AssessmentWarning, ClusterError, ConfigError, StudyConfig, load_config, preset_names
from ._record import StudyRecord
from ._status import RunStatus, TaskStatus, run_status
from ._tables import bad_fraction_by_ensemble_size, table_accuracy_vs_iauc, table_ensembles, table_silent_failures, table_top_configurations, top_configurations
from ._tables import classify_bad_models, table_accuracy_vs_iauc_by_task, table_bad_models, table_search_by_grid_value
from ._paper import PAPER_TABLE1, PAPER_TABLE2, PAPER_TABLE3
from ._explainers import table_explainers
from ._config import Sweep
from ._sweep import SweepResult, table_sweep

__all__ = [
    "assess",
    "AssessmentResult",
    "StudyConfig",
    "StudyRecord",
    "ConfigError",
    "ClusterError",
    "AssessmentWarning",
    "load_config",
    "preset_names",
    "run_status",
    "RunStatus",
    "TaskStatus",
    "top_configurations",
    "table_top_configurations",
    "table_accuracy_vs_iauc",
    "table_ensembles",
    "table_silent_failures",
    "bad_fraction_by_ensemble_size",
    "table_explainers",
    "table_accuracy_vs_iauc_by_task",
    "table_bad_models",
    "classify_bad_models",
    "table_search_by_grid_value",
    "PAPER_TABLE1",
    "PAPER_TABLE2",
    "PAPER_TABLE3",
    "Sweep",
    "SweepResult",
    "table_sweep",
]
