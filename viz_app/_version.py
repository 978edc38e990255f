"""The package version (one place; read by the settings record and the packaging)."""

__version__ = "0.2.0"
