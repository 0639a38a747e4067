"""Errors the model package raises on purpose, so callers (the CLI) can report them without a traceback."""


class ModelLoadError(Exception):
    """A model file is truncated, corrupt or inconsistent; the message names the file and tensor."""


class UnsupportedModelError(ModelLoadError):
    """A well-formed file describing an architecture, tensor type or feature this package does not run."""


class ContextOverflowError(Exception):
    """The KV cache is full: the prompt plus generated tokens exceed the maximum context."""
