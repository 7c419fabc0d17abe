"""workprint: consent-first recording of how people work, turned into privacy-safe datasets."""

__version__ = "0.1.0"
