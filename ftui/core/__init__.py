"""Pure logic: formats, validation, tokens, split, metrics, costs. No Textual, no network."""
