"""``python -m setlearn`` runs the ``setlearn`` command."""

from setlearn.cli import main

raise SystemExit(main())
