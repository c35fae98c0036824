"""Screens and sections of the workbench."""
