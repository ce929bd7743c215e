"""HTTP API: OpenAI-compatible routes under /v1, health, and the OpenAPI docs."""
