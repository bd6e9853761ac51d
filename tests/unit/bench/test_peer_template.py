"""Leaving unsupported resource types out of a template for the peer (bench/peer_template.py)."""

import json
from hashlib import sha256
from pathlib import Path

import pytest

from bench.peer_template import rehash, without_types

TEMPLATE = {
    "Resources": {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "b"}},
        "Archive": {
            "Type": "AWS::Events::Archive",
            "Properties": {"SourceArn": {"Fn::GetAtt": ["Bus", "Arn"]}},
        },
        "Rule": {"Type": "AWS::XRay::SamplingRule", "Properties": {}},
        "Queue": {"Type": "AWS::SQS::Queue", "DependsOn": ["Archive", "Bus"]},
    },
    "Outputs": {
        "ArchiveArn": {"Value": {"Fn::GetAtt": ["Archive", "Arn"]}},
        "BusName": {"Value": {"Ref": "Bus"}},
    },
}


def test_resources_of_the_types_and_what_names_them_are_left_out() -> None:
    template, dropped = without_types(TEMPLATE, ["AWS::Events::Archive", "AWS::XRay::SamplingRule"])

    assert dropped == ["Archive", "Rule"]
    assert set(template["Resources"]) == {"Bus", "Queue"}
    assert template["Resources"]["Queue"]["DependsOn"] == ["Bus"]
    assert set(template["Outputs"]) == {"BusName"}


def test_a_resource_that_uses_a_left_out_one_is_refused() -> None:
    template = {
        "Resources": {
            **TEMPLATE["Resources"],
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"Resource": {"Fn::Sub": "${Archive.Arn}/*"}},
            },
        }
    }
    with pytest.raises(ValueError, match="Policy refers to a resource left out"):
        without_types(template, ["AWS::Events::Archive"])


def test_the_model_bounds_are_read_from_botocore() -> None:
    from bench.limits import model_bound

    assert model_bound("events", "PutEvents", "Entries") == "1-10"
    assert model_bound("dynamodb", "BatchGetItem", "RequestItems.*.Keys") == "1-100"
    assert model_bound("dynamodbstreams", "GetRecords", "Limit") == "1-"  # no maximum stated
    assert model_bound("sqs", "ReceiveMessage", "MaxNumberOfMessages") == "-"


def test_the_changed_template_gets_its_own_asset_hash(tmp_path: Path) -> None:
    before, after = b'{"Resources": {"A": 1}}', b'{"Resources": {}}'
    old, new = sha256(before).hexdigest(), sha256(after).hexdigest()
    template = tmp_path / "Stack.template.json"
    (tmp_path / "manifest.json").write_text(json.dumps({"url": f"s3://b/{old}.json"}))
    (tmp_path / "Stack.assets.json").write_text(json.dumps({"files": {old: {"key": old}}}))

    rehash(template, before, after)

    assert json.loads((tmp_path / "manifest.json").read_text()) == {"url": f"s3://b/{new}.json"}
    assert json.loads((tmp_path / "Stack.assets.json").read_text()) == {
        "files": {new: {"key": new}}
    }


def test_a_sized_entry_weighs_what_eventbridge_counts() -> None:
    from bench.limits import sized_entry

    entry = sized_entry(262144)
    assert sum(len(entry[field].encode()) for field in ("Source", "DetailType", "Detail")) == 262144
    assert json.loads(entry["Detail"])["x"].startswith("a")
    with pytest.raises(ValueError, match="at least"):
        sized_entry(5)
