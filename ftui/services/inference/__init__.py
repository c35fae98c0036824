"""Chat models behind one async interface: OpenAI, OpenAI-compatible servers, local models."""
