"""CMCC: coordination platform for an international stabilization force."""

__version__ = "0.1.0"
