"""Backends run models. Each is registered through :mod:`greffier.models.plugins`."""
