"""The engine: rule base, registry, runner, suppression."""
