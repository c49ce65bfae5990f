"""termnews: a keyboard-driven terminal reader for news sites and blogs."""

__version__ = "0.1.0"
