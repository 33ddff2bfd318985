"""pytest plugin (entry point `pytest11`): inert unless `--tfgraphlint-traces` is given.

Filled in by dynamic mode; importing it never imports TensorFlow.
"""

from __future__ import annotations
