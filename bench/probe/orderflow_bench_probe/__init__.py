"""Counts of the emulator gateway's requests for orderflow's A/B benchmark (bench/ab.py).

``counting`` is the pure part (what a request is counted as), importable without LocalStack;
``plugin`` is the LocalStack start-up hook that installs the counter into the gateway.
"""
