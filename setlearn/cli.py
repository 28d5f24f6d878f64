"""The ``setlearn`` command line.

Examples
--------
.. code-block:: console

    $ setlearn assess                      # the quick preset (time: docs/results/quick/)
    $ setlearn assess --preset smoke --out results/smoke
    $ setlearn assess --preset paper --scheduler tcp://scheduler:8786
    $ setlearn assess --config my-study.toml --n-jobs 2
    $ setlearn status results/smoke        # how far a (running) run has got
"""

import argparse
import json
import logging
import os
import sys
import warnings

import setlearn


def _parser():
    # The preset list comes from the bundled files, so a new preset can never be missing here.
    from setlearn.assessment._config import preset_names

    parser = argparse.ArgumentParser(
        prog="setlearn", description="Attention-based learning on sets, with a number for whether the attention can be trusted."
    )
    parser.add_argument("--version", action="version", version=f"setlearn {setlearn.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    assess = commands.add_parser(
        "assess",
        help="run the attention-interpretability study end to end",
        description=(
            "Grid search, retraining of the top configurations, ensembles, and the study's tables, "
            "figures and report (Haab et al. 2022) in one output folder. Rerunning the same command "
            "continues an interrupted run."
        ),
        epilog=f"Presets: {', '.join(preset_names())} (default: quick; each is described in "
        f"docs/assessment.md, and --print-config shows one).",
    )
    assess.add_argument("--preset", default="quick", help="bundled configuration to start from (default: quick)")
    assess.add_argument("--config", metavar="FILE", help="JSON or TOML file overriding keys of the preset")
    assess.add_argument("--out", metavar="DIR", help="output folder (default: ./setlearn-results/<preset or config name>)")
    assess.add_argument("--n-jobs", type=int, metavar="N",
                        help="stacks of models trained in parallel (default: every core, or all workers with --scheduler; 1: in this process)")
    assess.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler address, e.g. tcp://host:8786: train on its workers")
    assess.add_argument("--max-models", type=int, metavar="N",
                        help="stop after training N new models; rerun to continue")
    assess.add_argument("--drop-bad-rows", action="store_true",
                        help="drop damaged rows of models.csv/ensembles.csv (they are computed again) instead "
                        "of stopping with their line numbers")
    assess.add_argument("--print-config", action="store_true",
                        help="print the resolved configuration as JSON and exit (a starting point for --config)")
    assess.add_argument("-q", "--quiet", action="store_true", help="no progress bars and no summary")
    status = commands.add_parser(
        "status",
        help="how far a run folder has got (safe while a run writes it)",
        description=("Per task: search, retraining and ensembles stored of their totals, the silent failures "
                     "so far, and whether a run is writing the folder now. Reads the folder only."),
    )
    status.add_argument("out", metavar="DIR", help="a folder written by setlearn assess")
    return parser


def _one_line_warnings(show_others):
    """A ``warnings.showwarning`` printing setlearn's own warnings as one line for the user."""
    from setlearn.assessment import AssessmentWarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, AssessmentWarning):
            print(f"setlearn assess: warning: {message}", file=sys.stderr)
        else:
            show_others(message, category, filename, lineno, file, line)

    return show


def _os_error(command, exc):
    """Print an OSError as one line and return the exit status 1.

    A path too long, a file that cannot be read, a full disk: the operating system's
    reason and the path are what the user needs, not a traceback.
    """
    where = f": {exc.filename}" if exc.filename else ""
    print(f"setlearn {command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
    return 1


def _assess(args):
    # Everything, the first imports included, runs inside the handlers below: a
    # Ctrl-C in the first second or a bad path must end in one line, never a traceback.
    try:
        return _run_assess(args)
    except KeyboardInterrupt:
        print("\nsetlearn assess: interrupted. Every finished model is saved, and the output folder's "
              "report.md says how far the run got; run the same command again to continue.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``--print-config | head``): nothing
        # left to tell it. Point stdout at devnull so the interpreter's final
        # flush does not raise again (the recipe of Python's signal docs).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        return _os_error("assess", exc)


def _run_assess(args):
    from setlearn.assessment import AssessmentWarning, ClusterError, ConfigError, assess, load_config

    if args.scheduler:
        try:
            import distributed  # noqa: F401  (configures its loggers on import; quieted after)
        except ImportError:
            pass  # assess says how to install it
        # distributed logs a lost scheduler as a multi-line ERROR; the one-line error below says it.
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", AssessmentWarning)
            warnings.showwarning = _one_line_warnings(warnings.showwarning)
            if args.print_config:
                print(json.dumps(load_config(args.preset, args.config), indent=2))
                sys.stdout.flush()  # a closed pipe shows here, inside the handlers
                return 0
            assess(args.preset, config=args.config, out=args.out, n_jobs=args.n_jobs, scheduler=args.scheduler,
                   max_models=args.max_models, drop_bad_rows=args.drop_bad_rows, verbose=not args.quiet)
    except ConfigError as exc:
        print(f"setlearn assess: error: {exc}", file=sys.stderr)
        return 2
    except ClusterError as exc:
        print(f"setlearn assess: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _status(args):
    try:
        from setlearn.assessment import ConfigError, run_status

        print(run_status(args.out).summary())
        return 0
    except ConfigError as exc:
        print(f"setlearn status: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        return _os_error("status", exc)
    except KeyboardInterrupt:
        return 130


def main(argv=None):
    """Entry point of the ``setlearn`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name (``sys.argv[1:]`` when None).

    Examples
    --------
    >>> from setlearn.cli import main
    >>> main(["assess", "--preset", "smoke", "--out", "results/smoke", "--quiet"])  # doctest: +SKIP
    0
    """
    args = _parser().parse_args(argv)
    if args.command == "assess":
        return _assess(args)
    if args.command == "status":
        return _status(args)
    raise AssertionError(f"unhandled command {args.command!r}")

