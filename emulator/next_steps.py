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
    aws = f"aws --endpoint-url {endpoint()} --region us-east-1"
    lines = []
    if api_id := outputs.get("OrdersApiId"):
        api = local_api_url(api_id)
        key_id = outputs.get("DemoPremiumApiKeyId", "<DemoPremiumApiKeyId>")
        lines += [
            "Every call needs an API key: the demo key of the premium plan is",
            f"  KEY=$({aws} apigateway get-api-key --api-key {key_id} --include-value "
            "--query value --output text)",
            "",
            "Orders are a customer's: a token naming the customer (dev signing key) is",
            "  TOKEN=$(orderflow token --customer c-1)",
            "",
            "See the catalogue, place an order, and follow it to CONFIRMED:",
            f'  curl -s {api}/products -H "x-api-key: $KEY"',
            f'  curl -s {api}/orders -H "x-api-key: $KEY" -H "Authorization: Bearer $TOKEN" \\',
            """    -H "content-type: application/json" """
            """-d '{"items": [{"sku": "SKU-MUG-001", "quantity": 1}], "paymentToken": "tok_ok"}'""",
            f'  curl -s {api}/orders/<orderId> -H "x-api-key: $KEY" \\',
            '    -H "Authorization: Bearer $TOKEN"',
            "",
        ]
    if outputs.get("BusName"):
        lines += [
            "Send an OrderPlaced event straight to the bus (the saga records the order first):",
            f"  {aws} events put-events --entries file://events/order-placed.json",
            "",
        ]
    lines += [
        "Follow the saga and the functions:",
        f"  {aws} stepfunctions list-executions --state-machine-arn "
        f"{outputs.get('SagaStateMachineArn', '<SagaStateMachineArn>')}",
        f"  {aws} logs tail <log group> --follow   # {aws} logs describe-log-groups",
    ]
    return lines


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "outputs.json")
