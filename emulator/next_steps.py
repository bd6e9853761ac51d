"""Print what to do after `make deploy`: commands that work against the deployed stack."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from emulator.clients import endpoint


def local_api_url(api_id: str, stage: str = "prod") -> str:
    """The stage URL that resolves offline (the one CloudFormation reports needs DNS)."""
    return f"{endpoint()}/_aws/execute-api/{api_id}/{stage}"


def main(outputs_file: str) -> None:
    stacks = json.loads(Path(outputs_file).read_text())
    outputs = {key: value for stack in stacks.values() for key, value in stack.items()}
    print(f"\nDeployed {', '.join(stacks)} to {endpoint()}. Outputs are in {outputs_file}.\n")
    for line in next_steps(outputs):
        print(line)


def next_steps(outputs: dict[str, str]) -> list[str]:
    lines = []
    if api_id := outputs.get("ApiId"):
        lines += [
            "Call the API:",
            f"  curl -s {local_api_url(api_id)}/items -H 'content-type: application/json' "
            '-d \'{"name": "first"}\'',
            "",
        ]
    if outputs.get("BusName"):
        lines += [
            "Send an event to the bus:",
            f"  aws --endpoint-url {endpoint()} events put-events --entries file://events/skeleton/ping_sent.json",
            "",
        ]
    lines += [
        "Follow a function's logs:",
        f"  aws --endpoint-url {endpoint()} logs tail /aws/lambda/<name> --follow",
    ]
    return lines


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "outputs.json")
