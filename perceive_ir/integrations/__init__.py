"""Integrations with other libraries' ecosystems (optional extras)."""

__all__: list[str] = []
