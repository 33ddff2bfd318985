"""Run flake8 with the plugins of some distributions hidden, as if they were not installed.

Usage::

    python benchmarks/flake8_hiding.py [--hide DIST]... -- FLAKE8-ARG...

Why: flake8 runs *every* installed plugin on every file and applies ``--select`` only
to what it reports, so ``flake8 --select F`` with tfgraphlint installed still pays
for tfgraphlint's analysis. To measure flake8 without the plugin (and the plugin's
cost as the difference), this script drops the named distributions' plugins from
flake8's plugin discovery (``flake8.plugins.finder.find_plugins``, flake8 >= 5),
then runs flake8's own ``main``. Without ``--hide`` it is plain flake8, so both
sides of a comparison start the same way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from flake8.main.cli import main as flake8_main
from flake8.plugins import finder

FindPlugins = Callable[..., list[finder.Plugin]]


def hiding(find: FindPlugins, hidden: frozenset[str]) -> FindPlugins:
    """Wrap ``find`` so that it leaves out plugins of the ``hidden`` distributions."""

    def find_visible(*args: object, **kwargs: object) -> list[finder.Plugin]:
        return [plugin for plugin in find(*args, **kwargs) if plugin.package not in hidden]

    return find_visible


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="flake8 with some plugins hidden.")
    parser.add_argument(
        "--hide",
        action="append",
        default=[],
        metavar="DIST",
        help="distribution whose flake8 plugins to hide (repeatable)",
    )
    parser.add_argument("flake8_args", nargs="*", help="arguments for flake8, after --")
    args = parser.parse_args(argv)
    if args.hide:
        finder.find_plugins = hiding(finder.find_plugins, frozenset(args.hide))
    status: int = flake8_main(args.flake8_args)
    return status


if __name__ == "__main__":
    sys.exit(main())
