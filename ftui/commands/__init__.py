"""The `ftui` subcommands, one module per area, imported lazily by `ftui.cli`."""
