"""`tfgraphlint trace`: arguments and entry point (the CLI imports this without TensorFlow)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_trace_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."])
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per module")
    parser.add_argument("--device", default="cpu", help="cpu (default), or gpu")
    parser.add_argument("--config", type=Path)


def run_trace(args: argparse.Namespace) -> int:
    raise NotImplementedError("dynamic mode is being built (issue 3)")
