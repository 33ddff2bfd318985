"""Front ends: thin adapters over the engine (CLI, flake8 plugin, output formats)."""
