"""Training backends behind one interface (`base.TrainingBackend`): `local` trains on this machine.

Modules here are imported on demand (see `ftui.services.root`), so the app pays for a backend only
when it first uses one.
"""
