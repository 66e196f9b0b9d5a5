"""heaplens: the Go compiler's escape analysis, explained, in the editor and in CI."""

__version__ = "0.1.0"
