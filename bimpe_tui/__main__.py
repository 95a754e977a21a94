"""`python -m bimpe_tui` is `bimpe-tui`."""

from .cli import main

raise SystemExit(main())
