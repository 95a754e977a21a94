"""bimpe-tui: watch BimpeAI agent conversations live from the terminal."""

__version__ = "0.1.0"
