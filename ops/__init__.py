"""Process launcher and supervisor, the top layer: starts every role of the stack, one process each."""
