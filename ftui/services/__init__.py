"""Async I/O: the run store, event logs, training backends. No Textual."""
