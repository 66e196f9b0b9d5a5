"""Allocation and CPU profiles joined to the compiler's findings (issue 16)."""
