"""Transparency about tokens: what each language costs, per tokenizer."""
