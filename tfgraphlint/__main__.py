from __future__ import annotations

from tfgraphlint.frontends.cli import main

raise SystemExit(main())
