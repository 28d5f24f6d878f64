"""Utilities for developers of setlearn and of featurizers for it."""
