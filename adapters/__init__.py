"""Stores and the dual-write adapter, installed as ``migrator.adapters`` so no user module named
``adapters`` can shadow them."""
