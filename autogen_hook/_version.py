"""The package's version, in a leaf module: the HTTP client's user-agent reads it without
importing the package's facade (``autogen_hook/__init__``), which imports the finder."""

__version__ = "0.1.0"
