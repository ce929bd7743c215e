"""Greffier: self-hosted generative AI for organisations that keep sensitive records."""

__version__ = "0.1.0"
