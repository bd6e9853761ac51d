"""Leaves out of a synthesized stack the resource types a peer emulator cannot create.

MiniStack 1.5.33 refuses the whole Orderflow template ("Unrecognized resource types:
[AWS::Events::Archive, AWS::XRay::SamplingRule]"). Neither is on a saga's path: the archive
keeps the bus's events for `orderflow replay`, the sampling rule decides which requests X-Ray
traces. `make ministack-deploy` synthesizes the app into its own cloud assembly, removes those
resources (and the outputs and DependsOn that name them) with this module, and deploys the
assembly as it then is (`cdk deploy --app <assembly>`). A resource whose properties refer to a
removed one is an error: the stack would not be the same app any more.

    python -m bench.peer_template .ministack/cdk.out/Orderflow.template.json \
        AWS::Events::Archive AWS::XRay::SamplingRule --output PaymentWebhookSecretName

An output can be left out too: MiniStack answers `Ref` of an `AWS::SecretsManager::Secret`
with the secret's name where CloudFormation gives its ARN, so the output that takes the name
out of the ARN (`Fn::Select` 6 of its `:` parts) fails the whole stack there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _names(value: dict[str, Any]) -> set[str]:
    """The logical ids one intrinsic function names directly (Ref, Fn::GetAtt, Fn::Sub)."""
    named = {value["Ref"]} if isinstance(value.get("Ref"), str) else set()
    target = value.get("Fn::GetAtt")
    if isinstance(target, list) and target:
        named.add(str(target[0]))
    elif isinstance(target, str):
        named.add(target.split(".", 1)[0])
    sub = value.get("Fn::Sub")
    text = sub[0] if isinstance(sub, list) and sub else sub
    if isinstance(text, str):
        named.update(part.split("}", 1)[0].split(".", 1)[0] for part in text.split("${")[1:])
    return named


def refers_to(value: Any, logical_ids: set[str]) -> bool:
    """Whether a template fragment holds a Ref or Fn::GetAtt (or a ${Name} in a Fn::Sub) to
    one of ``logical_ids``."""
    if isinstance(value, dict):
        return bool(_names(value) & logical_ids) or any(
            refers_to(item, logical_ids) for item in value.values()
        )
    if isinstance(value, list):
        return any(refers_to(item, logical_ids) for item in value)
    return False


def without_types(
    template: dict[str, Any], types: Sequence[str]
) -> tuple[dict[str, Any], list[str]]:
    """The template less the resources of ``types``, and their logical ids."""
    resources = template.get("Resources", {})
    dropped = {name for name, resource in resources.items() if resource.get("Type") in types}
    kept: dict[str, Any] = {}
    for name, resource in resources.items():
        if name in dropped:
            continue
        if refers_to(resource.get("Properties", {}), dropped):
            raise ValueError(f"{name} refers to a resource left out ({', '.join(sorted(dropped))})")
        depends = resource.get("DependsOn")
        kept[name] = resource
        if depends is not None:
            listed = [depends] if isinstance(depends, str) else depends
            kept[name] = {**resource, "DependsOn": [d for d in listed if d not in dropped]}
    outputs = {
        name: output
        for name, output in template.get("Outputs", {}).items()
        if not refers_to(output, dropped)
    }
    return {**template, "Resources": kept, "Outputs": outputs}, sorted(dropped)


def rehash(path: Path, before: bytes, after: bytes) -> None:
    """The assembly names a template asset by the SHA-256 of its content (the object key it is
    uploaded under, which `cdk deploy` skips when it exists already): the changed template gets
    its own hash in the manifest and the stack's assets file."""
    old, new = hashlib.sha256(before).hexdigest(), hashlib.sha256(after).hexdigest()
    stack = path.name.removesuffix(".template.json")
    for listing in (path.parent / "manifest.json", path.parent / f"{stack}.assets.json"):
        if listing.exists():
            listing.write_text(listing.read_text().replace(old, new))


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("template", type=Path)
    parser.add_argument("types", nargs="+", help="resource types to leave out")
    parser.add_argument(
        "--output", action="append", default=[], help="an output to leave out (repeatable)"
    )
    args = parser.parse_args(argv)
    path: Path = args.template
    before = path.read_bytes()
    template, dropped = without_types(json.loads(before), args.types)
    template["Outputs"] = {
        name: value for name, value in template["Outputs"].items() if name not in args.output
    }
    after = json.dumps(template, indent=1).encode()
    path.write_bytes(after)
    rehash(path, before, after)
    left_out = [*dropped, *(f"output {name}" for name in args.output)]
    print(f"{path}: left out {', '.join(left_out) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
