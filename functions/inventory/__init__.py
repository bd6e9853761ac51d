"""Inventory service: product catalogue, stock and per-order reservations."""
