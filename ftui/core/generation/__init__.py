"""Data generation with a model, the pure half: prompts, parsing of replies, the task plan,
and the dedupe of what a model wrote against the pool of examples (no model is called here)."""
