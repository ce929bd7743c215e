"""Alignment data sets in open formats: examples from curated feedback and synthetic
question–answer pairs, personal identifiers masked, a card with what went in, and
archives that carry their own checksums. Pure: no SQL, no HTTP, no model runtime."""
