"""Dynamic mode: import user code in a worker subprocess and trace it with real TensorFlow.

Nothing here imports TensorFlow at module level; only the worker process does.
"""
