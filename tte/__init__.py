"""tte: the Tiny Training Engine."""

__version__ = "0.1.0"
