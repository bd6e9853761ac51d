"""The embedded emulator kit: lifecycle (ctl.py), the host Lambda executor (hostexec/), and the
one place where clients for the emulator are configured (clients.py)."""
