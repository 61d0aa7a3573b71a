"""Composite losses (being written; see the issue tracker)."""

__all__: list[str] = []
