"""Runs: typed events, their one codec, the reducer that folds them, the one formatter."""
