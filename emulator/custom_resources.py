"""Run the stack's custom resources on the emulator, after `cdk deploy`.

LocalStack's open-source core deploys every ``Custom::`` resource as a no-op (custom resources
are a Pro feature), and the CDK provider framework's own Lambda is Node.js, which the host
executor does not run. On real AWS, CloudFormation calls the provider; here, `make deploy`
calls this module, which sends each custom resource's handler the same Create request
CloudFormation would, with the properties from the synthesized template. The handlers are
idempotent (the products seed never resets live stock), so running this after every deploy is
safe.

    python -m emulator.custom_resources cdk.out/Orderflow.template.json outputs.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from emulator.clients import client

# Custom resource type -> the stack output naming the Lambda function that handles it.
HANDLERS = {
    "Custom::ProductsSeed": "SeedProductsFunctionName",
    "Custom::DevSigningKey": "DevSigningKeyFunctionName",  # infra/identity.py
}


def create_requests(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(resource type, CloudFormation Create request) for every custom resource we handle."""
    requests = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource["Type"] in HANDLERS:
            properties = {k: v for k, v in resource["Properties"].items() if k != "ServiceToken"}
            request = {
                "RequestType": "Create",
                "LogicalResourceId": logical_id,
                "ResourceType": resource["Type"],
                "ResourceProperties": properties,
            }
            requests.append((resource["Type"], request))
    return requests


def main(template_file: str, outputs_file: str) -> None:
    template = json.loads(Path(template_file).read_text())
    stacks = json.loads(Path(outputs_file).read_text())
    outputs = {key: value for stack in stacks.values() for key, value in stack.items()}
    lambda_client = client("lambda")
    for resource_type, request in create_requests(template):
        function = outputs[HANDLERS[resource_type]]
        response = lambda_client.invoke(FunctionName=function, Payload=json.dumps(request).encode())
        body = response["Payload"].read().decode()
        if "FunctionError" in response:
            sys.exit(f"{resource_type} {request['LogicalResourceId']} failed: {body}")
        print(f"{resource_type} {request['LogicalResourceId']}: {body}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
