"""CPU of an idle emulator with the app deployed: nothing is sent for ``--seconds``, and the
emulator's processes (``bench/cpu.py``: LocalStack, DynamoDB Local, the Lambda runtimes and
their fork servers) are measured meanwhile. What it spends is its pollers and timers.

    .venvs/dev/bin/python -m bench.idle --seconds 60
"""

from __future__ import annotations

import argparse
import time

from bench.cpu import CpuMeter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long (default 60)")
    args = parser.parse_args()
    meter = CpuMeter()
    meter.start()
    time.sleep(args.seconds)
    used = meter.stop()
    print("| process | CPU (s) | cores busy |")
    print("|---|---:|---:|")
    for group, seconds in [*used.items(), ("all of the emulator", sum(used.values()))]:
        print(f"| {group} | {seconds:.2f} | {seconds / meter.wall_s:.3f} |")


if __name__ == "__main__":
    main()
