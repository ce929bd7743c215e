"""Documents: parse, chunk, embed, index and search the organisation's files."""
