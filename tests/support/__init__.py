"""What tests share beyond fixtures: the OpenAI test server."""
