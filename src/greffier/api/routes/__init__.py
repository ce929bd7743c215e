"""One module per OpenAI resource."""
