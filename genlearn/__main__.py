"""``python -m genlearn`` runs the command line."""

from genlearn.cli import main

raise SystemExit(main())
