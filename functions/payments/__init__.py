"""Payments service: authorises and voids order payments with a simulated provider."""
