"""Chaos on AWS (``infra/chaos.py``, ``infra/experiments.py``): off by default, nothing in the
template; on, one ``AWS::FIS::ExperimentTemplate`` per FIS-native experiment file, the FIS
Lambda extension (layer, variables, read access) on exactly the functions they target, the
experiment role, the configuration bucket, the output the runner reads; cdk-nag and cfn-lint
clean.

The experiment files are this folder's own (``chaos_experiments/``): ``payment-errors``
(``aws:lambda:invocation-error`` on AuthorizePayment), ``inventory-delays``
(``aws:fis:wait``, then ``aws:lambda:invocation-add-delay`` on every inventory function) and
``relay-crash`` (``orderflow:lambda:invocation-crash``: offline only, skipped)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match, Template
from pydantic import ValidationError

from infra.app import Stacks, build_app, offline_app
from infra.chaos import EXTENSION_TAG, LAYER_PARAMETER, function_tags
from infra.config import DeploymentConfig
from infra.experiments import ExperimentFileError
from tests.infra.conftest import synth_stacks
from tests.infra.helpers import arn_target, as_list, policy_statements, render_join, resources

FIXTURES = Path(__file__).resolve().parent / "chaos_experiments"
ON = {"fis_templates": True, "experiments_dir": str(FIXTURES)}
FIS_VARIABLES = {
    "AWS_LAMBDA_EXEC_WRAPPER",
    "AWS_FIS_CONFIGURATION_LOCATION",
    "AWS_FIS_EXTENSION_METRICS",
    "AWS_FIS_SLOW_POLL_INTERVAL_SECONDS",
}
INVENTORY = {
    "reserve-inventory",
    "release-inventory",
    "commit-inventory",
    "list-products",
    "seed-products",
    "seed-products-provider",
}
TARGETED = INVENTORY | {"authorize-payment"}


def chaos_context(**settings: Any) -> dict[str, str]:
    return {"orderflow:chaos": json.dumps({**ON, **settings})}


@pytest.fixture(scope="module")
def chaos_stacks() -> Stacks:
    return synth_stacks(**chaos_context())


@pytest.fixture(scope="module")
def chaos_template(chaos_stacks: Stacks) -> Template:
    return Template.from_stack(chaos_stacks.product)


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def experiment_templates(template: Template) -> dict[str, dict[str, Any]]:
    """Each experiment template's properties, by its ``orderflow:experiment`` tag."""
    return {
        t["Properties"]["Tags"]["orderflow:experiment"]: t["Properties"]
        for t in resources(template, "AWS::FIS::ExperimentTemplate").values()
    }


def functions_by_name(template: Template) -> dict[str, dict[str, Any]]:
    """Each function's properties, by its ``orderflow:function`` tag."""
    found = {}
    for function in resources(template, "AWS::Lambda::Function").values():
        tags = {tag["Key"]: tag["Value"] for tag in function["Properties"]["Tags"]}
        found[tags["orderflow:function"]] = function["Properties"]
    return found


def variables(function: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = function.get("Environment", {}).get("Variables", {})
    return variables


def test_the_switch_is_off_on_every_stage() -> None:
    for stage in ("dev", "prod", "staging"):
        assert DeploymentConfig(stage=stage).chaos.fis_templates is False


def test_off_the_template_is_the_same_as_without_chaos(template: Template) -> None:
    # Given the switch off, with experiment files to read all the same
    off = Template.from_stack(synth_stacks(**chaos_context(fis_templates=False)).product).to_json()

    # Then the template is the default one: no FIS, no bucket, no layer, no variable, no output
    assert off == template.to_json()
    for type_ in ("AWS::FIS::ExperimentTemplate", "AWS::S3::Bucket", "AWS::S3::BucketPolicy"):
        assert resources(template, type_) == {}
    assert "ChaosExperimentTemplates" not in off["Outputs"]
    assert not any("fis" in name.lower() for name in off.get("Parameters", {}))
    for name, function in functions_by_name(template).items():
        assert not FIS_VARIABLES & variables(function).keys(), name
        assert len(function.get("Layers", [])) <= 1, name
        assert EXTENSION_TAG not in json.dumps(function["Tags"]), name


def test_one_template_per_fis_native_file_with_its_targets_and_actions(
    chaos_template: Template,
) -> None:
    templates = experiment_templates(chaos_template)
    assert set(templates) == {"payment-errors", "inventory-delays"}

    payment = templates["payment-errors"]
    source = fixture("payment-errors")
    assert payment["Description"] == source["description"]
    assert payment["Targets"] == {
        "AuthorizePayment": {
            "ResourceType": "aws:lambda:function",
            # the file's tags, confined to the functions this stack equipped
            "ResourceTags": {"orderflow:function": "authorize-payment", EXTENSION_TAG: "true"},
            "SelectionMode": "ALL",
        }
    }
    assert payment["Actions"] == {
        "PaymentErrors": {
            "ActionId": "aws:lambda:invocation-error",
            "Parameters": {
                "duration": "PT60S",
                "invocationPercentage": "30",
                "preventExecution": "true",
            },
            "Targets": {"Functions": "AuthorizePayment"},
        }
    }
    assert payment["StopConditions"] == [{"Source": "none"}]
    assert payment["Tags"]["orderflow:seed"] == "7"  # the file's tags are kept

    delays = templates["inventory-delays"]
    assert delays["Targets"]["Inventory"]["ResourceTags"] == {
        "orderflow:service": "inventory",
        EXTENSION_TAG: "true",
    }
    assert delays["Actions"]["Settle"] == {
        "ActionId": "aws:fis:wait",
        "Parameters": {"duration": "PT5S"},
    }
    # numbers become the strings CloudFormation takes; startAfter and descriptions kept
    assert delays["Actions"]["Delays"]["Parameters"] == {
        "duration": "PT1M",
        "invocationPercentage": "50",
        "startupDelayMilliseconds": "12000",
    }
    assert delays["Actions"]["Delays"]["StartAfter"] == ["Settle"]
    assert delays["Actions"]["Delays"]["Description"] == "start-up delay past the timeout"
    # the stack's role, not the file's
    role_ids = set(resources(chaos_template, "AWS::IAM::Role", "ChaosExperimentRole"))
    for properties in templates.values():
        assert arn_target(properties["RoleArn"]) in role_ids


def test_an_offline_only_file_is_skipped_with_a_warning(chaos_stacks: Stacks) -> None:
    assert chaos_stacks.product.chaos is not None
    assert chaos_stacks.product.chaos.skipped == ["relay-crash"]
    Annotations.from_stack(chaos_stacks.product).has_warning(
        "/Orderflow/Chaos",
        Match.string_like_regexp(r"not deployed .*relay-crash \(orderflow:lambda:invocation-crash"),
    )


def test_the_extension_is_on_exactly_the_targeted_functions(
    chaos_template: Template, template: Template
) -> None:
    [bucket_id] = resources(chaos_template, "AWS::S3::Bucket")
    [parameter] = [
        name
        for name, parameter in chaos_template.to_json()["Parameters"].items()
        if parameter.get("Default") == LAYER_PARAMETER.format(architecture="x86_64")
    ]
    functions, before = functions_by_name(chaos_template), functions_by_name(template)
    assert functions.keys() > TARGETED
    for name, function in functions.items():
        tags = {tag["Key"]: tag["Value"] for tag in function["Tags"]}
        if name not in TARGETED:
            assert not FIS_VARIABLES & variables(function).keys(), name
            assert {"Ref": parameter} not in function.get("Layers", []), name
            assert EXTENSION_TAG not in tags, name
            continue
        # the extension, and the layers it had
        assert function["Layers"] == [{"Ref": parameter}, *before[name].get("Layers", [])], name
        assert tags[EXTENSION_TAG] == "true", name
        environment = variables(function)
        assert environment["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/aws-fis/bootstrap"
        assert render_join(environment["AWS_FIS_CONFIGURATION_LOCATION"]) == (
            f"<{bucket_id}.Arn>/FisConfigs/"
        )
        assert environment["AWS_FIS_EXTENSION_METRICS"] == "all"
        assert environment["AWS_FIS_SLOW_POLL_INTERVAL_SECONDS"] == "10"


def test_targeted_functions_read_the_configuration_prefix_only(chaos_template: Template) -> None:
    [bucket_id] = resources(chaos_template, "AWS::S3::Bucket")
    functions = resources(chaos_template, "AWS::Lambda::Function")
    names = {
        {t["Key"]: t["Value"] for t in f["Properties"]["Tags"]}["orderflow:function"]: f
        for f in functions.values()
    }
    policies = resources(chaos_template, "AWS::IAM::Policy")
    for name, function in names.items():
        role = arn_target(function["Properties"]["Role"])
        statements = [
            s
            for p in policies.values()
            if {"Ref": role} in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if bucket_id in json.dumps(s)
        ]
        if name not in TARGETED:
            assert statements == [], name
            continue
        assert sorted(statements, key=lambda s: str(s["Action"])) == [
            {
                "Action": "s3:GetObject",
                "Effect": "Allow",
                "Resource": {
                    "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/FisConfigs/*"]]
                },
            },
            {
                "Action": "s3:ListBucket",
                "Condition": {"StringLike": {"s3:prefix": ["FisConfigs/*"]}},
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [bucket_id, "Arn"]},
            },
        ], name


def test_the_experiment_role_is_fis_s_for_this_account_with_named_actions(
    chaos_template: Template,
) -> None:
    [(role_id, role)] = resources(chaos_template, "AWS::IAM::Role", "ChaosExperimentRole").items()
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "fis.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert render_join(trust["Condition"]["ArnLike"]["aws:SourceArn"]) == (
        "arn:<AWS::Partition>:fis:<AWS::Region>:<AWS::AccountId>:experiment/*"
    )

    [bucket_id] = resources(chaos_template, "AWS::S3::Bucket")
    statements = {
        tuple(as_list(statement["Action"])): statement
        for name, statement in policy_statements(chaos_template, identity_only=True)
        if name.startswith("ChaosExperimentRole")
    }
    assert set(statements) == {
        ("s3:DeleteObject", "s3:PutObject"),
        ("lambda:GetFunction",),
        ("tag:GetResources",),
    }
    for actions in statements:
        assert not any("*" in action for action in actions), actions
    assert render_join(statements[("s3:DeleteObject", "s3:PutObject")]["Resource"]) == (
        f"<{bucket_id}.Arn>/FisConfigs/*"
    )
    assert statements[("tag:GetResources",)]["Resource"] == "*"  # takes no resource
    functions = resources(chaos_template, "AWS::Lambda::Function")
    get_function = {arn_target(arn) for arn in statements[("lambda:GetFunction",)]["Resource"]}
    assert {
        {t["Key"]: t["Value"] for t in functions[i]["Properties"]["Tags"]}["orderflow:function"]
        for i in get_function
    } == TARGETED
    assert role_id


def test_the_configuration_bucket_is_private_encrypted_tls_only_and_self_cleaning(
    chaos_template: Template,
) -> None:
    [(bucket_id, bucket)] = resources(chaos_template, "AWS::S3::Bucket").items()
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"),
        True,
    )
    [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert properties["LifecycleConfiguration"]["Rules"] == [
        {"ExpirationInDays": 1, "Prefix": "FisConfigs/", "Status": "Enabled"}
    ]
    assert bucket["DeletionPolicy"] == "Delete"  # dev; prod keeps it
    [policy] = resources(chaos_template, "AWS::S3::BucketPolicy").values()
    [deny] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert policy["Properties"]["Bucket"] == {"Ref": bucket_id}


def test_the_output_maps_each_file_to_its_template_id(chaos_template: Template) -> None:
    output = chaos_template.to_json()["Outputs"]["ChaosExperimentTemplates"]["Value"]
    ids = {
        name: logical_id
        for logical_id, t in resources(chaos_template, "AWS::FIS::ExperimentTemplate").items()
        for name in [t["Properties"]["Tags"]["orderflow:experiment"]]
    }
    # Ref of an experiment template is its id: rendered here as <logical id>
    assert json.loads(render_join(output)) == {name: f"<{i}>" for name, i in ids.items()}


def test_tags_read_from_the_constructs_are_the_template_s(chaos_stacks: Stacks) -> None:
    # the construct picks targets by the tags it reads from the tag aspects: the same the
    # template carries
    template = Template.from_stack(chaos_stacks.product).to_json()["Resources"]
    stack = chaos_stacks.product
    functions = [c for c in stack.node.find_all() if isinstance(c, lambda_.Function)]
    assert len(functions) == len(resources(Template.from_stack(stack), "AWS::Lambda::Function"))
    for function in functions:
        logical_id = stack.get_logical_id(function.node.default_child)  # type: ignore[arg-type]
        tags = {t["Key"]: t["Value"] for t in template[logical_id]["Properties"]["Tags"]}
        assert function_tags(function) == tags, function.node.path


def test_pinned_layers_by_region_are_looked_up_in_the_region_deployed_to() -> None:
    # Given the layer pinned for two regions (the publisher and version differ per region)
    arns = {
        "eu-west-1": "arn:aws:lambda:eu-west-1:123456789012:layer:aws-fis-extension-x86_64:42",
        "us-east-1": "arn:aws:lambda:us-east-1:210987654321:layer:aws-fis-extension-x86_64:7",
    }
    pinned = Template.from_stack(synth_stacks(**chaos_context(extension_layer_arns=arns)).product)

    # Then the template maps region to layer, and each function looks its region up
    template = pinned.to_json()
    [(mapping_id, mapping)] = template["Mappings"].items()
    assert mapping == {region: {"arn": arn} for region, arn in arns.items()}
    assert not any("fis" in name.lower() for name in template.get("Parameters", {}))
    layer = {"Fn::FindInMap": [mapping_id, {"Ref": "AWS::Region"}, "arn"]}
    for name, function in functions_by_name(pinned).items():
        assert (layer in function.get("Layers", [])) == (name in TARGETED), name


@pytest.mark.parametrize(
    "arns",
    [
        {"eu-west-1": "arn:aws:lambda:us-east-1:123456789012:layer:aws-fis-extension-x86_64:9"},
        {"eu-west-1": "arn:aws:lambda:eu-west-1:123456789012:layer:something-else:9"},
    ],
)
def test_a_layer_arn_of_another_region_or_layer_is_refused(arns: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match=r"chaos\.extension_layer_arns"):
        DeploymentConfig(chaos={"extension_layer_arns": arns})


def test_a_pinned_layer_of_another_architecture_is_refused() -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:layer:aws-fis-extension-arm64:9"
    with pytest.raises(ValueError, match="not for x86_64"):
        synth_stacks(**chaos_context(extension_layer_arns={"eu-west-1": arn}))


def test_a_typo_in_the_settings_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"chaos\.fisTemplates"):
        DeploymentConfig(chaos='{"fisTemplates": true}')


def write(directory: Path, name: str, body: dict[str, Any]) -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps(body))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            {
                "targets": {
                    "AuthorizePayment": {
                        "resourceType": "aws:lambda:function",
                        "resourceTags": {"orderflow:function": "no-such-function"},
                        "selectionMode": "ALL",
                    }
                }
            },
            r"target AuthorizePayment .* selects no function of the stack",
        ),
        (
            {
                "targets": {
                    "AuthorizePayment": {
                        "resourceType": "aws:lambda:function",
                        "resourceArns": ["arn:aws:lambda:us-east-1:123456789012:function:x"],
                        "selectionMode": "ALL",
                    }
                }
            },
            "select the functions by resourceTags",
        ),
        (
            {
                "actions": {
                    "PaymentErrors": {
                        "actionId": "aws:ec2:stop-instances",
                        "targets": {"Functions": "AuthorizePayment"},
                    }
                }
            },
            "'aws:ec2:stop-instances' is neither",
        ),
        (
            {
                "actions": {
                    "PaymentErrors": {
                        "actionId": "aws:lambda:invocation-error",
                        "parameters": {"duration": "PT1M"},
                        "targets": {"Functions": "Nowhere"},
                    }
                }
            },
            "target 'Nowhere' is not in targets",
        ),
        ({"description": ""}, "description is required"),
        ({"stopConditions": [{"value": "x"}]}, "stopConditions is a list"),
        ({"logConfiguration": {}}, r"unsupported keys \['logConfiguration'\]"),
    ],
)
def test_a_file_that_cannot_be_deployed_is_refused_naming_it(
    tmp_path: Path, change: dict[str, Any], error: str
) -> None:
    write(tmp_path, "broken", {**fixture("payment-errors"), **change})
    with pytest.raises(ExperimentFileError, match=rf"broken(\.json)?: .*{error}"):
        synth_stacks(**chaos_context(experiments_dir=str(tmp_path)))


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExperimentFileError, match="does not exist"):
        synth_stacks(**chaos_context(experiments_dir=str(tmp_path / "nowhere")))


def test_an_offline_only_file_is_not_checked_for_aws(tmp_path: Path) -> None:
    # orderflow's own actions may take targets the stack could not deploy (the emulator's)
    offline = fixture("relay-crash")
    offline["targets"]["Relay"]["resourceArns"] = ["arn:aws:lambda:us-east-1:0:function:x"]
    del offline["targets"]["Relay"]["resourceTags"]
    write(tmp_path, "offline", offline)
    stack = synth_stacks(**chaos_context(experiments_dir=str(tmp_path))).product
    assert stack.chaos is not None and stack.chaos.skipped == ["offline"]
    assert stack.chaos.templates == {} and stack.chaos.targeted == []


def test_cdk_nag_and_cfn_lint_pass_with_the_switch_on(tmp_path: Path) -> None:
    # Given the app with the switch on, checked by cdk-nag, synthesised
    app = offline_app(outdir=str(tmp_path), **chaos_context())
    build_app(app)
    app.synth()

    # Then the validation report has no nag finding, only the offline-only file's warning
    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = [
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]
    assert findings == [("Annotation::orderflow:chaosOfflineOnly", "Orderflow/Chaos")]

    # And cfn-lint, as `make lint` runs it, finds nothing in the templates
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint is not None
    linted = subprocess.run(
        [cfn_lint, "--ignore-checks", "W3005", "--", *map(str, tmp_path.glob("*.template.json"))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
