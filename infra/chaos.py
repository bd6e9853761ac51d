"""AWS FIS on AWS: the experiments of ``chaos/`` as ``AWS::FIS::ExperimentTemplate`` resources,
and what AWS FIS's Lambda actions need (``DeploymentConfig.chaos``, off on every stage;
``infra/experiments.py`` reads the files).

AWS FIS injects Lambda faults through its extension (a layer AWS publishes in every region):
an experiment writes its fault configuration to an S3 prefix, and the extension in each
targeted function polls that prefix and applies it (docs: "Use the AWS FIS aws:lambda:function
actions"). So, with the switch on, ``ChaosExperiments`` adds:

- the configuration bucket (prefix ``FisConfigs/``: TLS only, no public access, SSE-S3,
  leftovers expire after a day);
- on every function a deployed experiment targets: the extension layer, the variables
  ``AWS_LAMBDA_EXEC_WRAPPER=/opt/aws-fis/bootstrap``, ``AWS_FIS_CONFIGURATION_LOCATION``
  (the prefix's S3 ARN), ``AWS_FIS_EXTENSION_METRICS``, ``AWS_FIS_SLOW_POLL_INTERVAL_SECONDS``,
  read access to the prefix (``s3:GetObject``, ``s3:ListBucket`` on it), and the tag
  ``orderflow:fis-extension=true``;
- the experiment role (assumed by FIS for this account's experiments only): ``s3:PutObject``
  and ``s3:DeleteObject`` on the prefix, ``lambda:GetFunction`` on the targeted functions,
  ``tag:GetResources`` (which takes no resource);
- one experiment template per file whose actions are all AWS FIS's, its Lambda targets
  confined to the functions carrying ``orderflow:fis-extension`` (another stack's function with
  the same tags, OrderflowBench's ``list-products``, has no extension and is never selected);
  a file with an ``orderflow:...`` action is offline only: skipped, with a warning.

``templates`` (file stem -> template) feeds the stack's ``ChaosExperimentTemplates`` output,
which ``orderflow chaos run`` reads on AWS to start the deployed template.
"""

from collections.abc import Sequence

import cdk_nag
from aws_cdk import Annotations, Aspects, Aws, CfnMapping, Duration, Tag, Tags
from aws_cdk import aws_fis as fis
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.config import DeploymentConfig
from infra.experiments import (
    Experiment,
    ExperimentFileError,
    layer_architecture,
    load_experiments,
    template_properties,
)
from infra.nag import default_policy, suppress

CONFIG_PREFIX = "FisConfigs/"
EXEC_WRAPPER = "/opt/aws-fis/bootstrap"
EXTENSION_TAG = "orderflow:fis-extension"
"""Tag of every function the stack equipped with the FIS extension; the deployed templates
select only functions that carry it."""
LAYER_PARAMETER = "/aws/service/fis/lambda-extension/AWS-FIS-extension-{architecture}/1.x.x"
"""AWS's public SSM parameter holding the region's latest 1.x extension layer version ARN."""

PREFIX_OBJECTS = cdk_nag.RegexAppliesTo(regex=r"/^Resource::<[A-Za-z0-9]+\.Arn>\/FisConfigs\/\*$/g")
"""``<bucket ARN>/FisConfigs/*``: the objects of the configuration prefix."""


def function_tags(function: lambda_.Function) -> dict[str, str]:
    """The tags ``Tags.of(...)`` gives ``function``: those added on it and on its scopes (the
    stack's ``project`` and ``stage``, ``tag_function``'s service and name), the nearest
    winning. Read from the tag aspects, which apply them only when the app is synthesised."""
    tags: dict[str, str] = {}
    scopes = [*function.node.scopes]
    if function.node.default_child is not None:
        scopes.append(function.node.default_child)
    for scope in scopes:
        for aspect in Aspects.of(scope).all:
            if isinstance(aspect, Tag):
                tags[aspect.key] = aspect.value
    return tags


class ChaosExperiments(Construct):
    """The deployed experiments of ``chaos/`` and what AWS FIS needs to run them (see the
    module). Build it only with ``config.chaos.fis_templates`` on.

    Attributes:
        templates: the experiment template of each deployed file, by file stem.
        skipped: the files that are offline only (an ``orderflow:...`` action).
        bucket: the FIS configuration bucket.
        role: the experiment role.
        targeted: the functions the templates can select (equipped with the extension).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        functions: Sequence[lambda_.Function],
        config: DeploymentConfig,
    ) -> None:
        """
        Args:
            functions: every function of the stack; the experiments select among them by tag.
            config: the deployment's settings (``config.chaos``).
        """
        super().__init__(scope, id)
        self._settings = config.chaos
        experiments = load_experiments(self._settings.directory)
        deployed = [e for e in experiments if not e.offline_only]
        self.skipped = [e.name for e in experiments if e.offline_only]
        if self.skipped:
            Annotations.of(self).add_warning_v2(
                "orderflow:chaosOfflineOnly",
                "chaos experiments not deployed (actions only the emulator serves): "
                + "; ".join(
                    f"{e.name} ({', '.join(e.offline_actions)})"
                    for e in experiments
                    if e.offline_only
                ),
            )
        self.targeted = _targeted_functions(deployed, functions)
        self.bucket = self._configuration_bucket(config)
        self.role = self._experiment_role()
        self._layers: dict[str, lambda_.ILayerVersion] = {}
        for function in self.targeted:
            self._equip(function)
        self.templates = {
            experiment.name: fis.CfnExperimentTemplate(
                self,
                f"Experiment-{experiment.name}",
                role_arn=self.role.role_arn,
                **template_properties(experiment, confine={EXTENSION_TAG: "true"}),
            )
            for experiment in deployed
        }

    def _configuration_bucket(self, config: DeploymentConfig) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "ConfigBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=config.removal_policy,
            lifecycle_rules=[
                # FIS deletes an experiment's configuration when it ends; this removes what an
                # interrupted one left (no experiment runs longer than 12 hours)
                s3.LifecycleRule(prefix=CONFIG_PREFIX, expiration=Duration.days(1)),
            ],
        )
        suppress(
            bucket,
            "AwsSolutions-S1",
            "holds only AWS FIS's short-lived fault configurations, written by the experiment "
            "role and polled by the extension in every execution environment every few "
            "seconds: access logs would be that poll, not an audit trail (CloudTrail records "
            "the experiments and the role's writes)",
        )
        return bucket

    def _experiment_role(self) -> iam.Role:
        account, region, partition = Aws.ACCOUNT_ID, Aws.REGION, Aws.PARTITION
        role = iam.Role(
            self,
            "ExperimentRole",
            description="AWS FIS: the orderflow experiment templates' role",
            # confused-deputy guard: only this account's experiments assume it
            assumed_by=iam.ServicePrincipal(
                "fis.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{partition}:fis:{region}:{account}:experiment/*"
                    },
                },
            ),
        )
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["s3:PutObject", "s3:DeleteObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{CONFIG_PREFIX}*")],
        )
        if self.targeted:
            iam.Grant.add_to_principal(
                grantee=role,
                actions=["lambda:GetFunction"],
                resource_arns=[function.function_arn for function in self.targeted],
            )
        iam.Grant.add_to_principal(grantee=role, actions=["tag:GetResources"], resource_arns=["*"])
        suppress(
            default_policy(role),
            "AwsSolutions-IAM5",
            "tag:GetResources takes no resource (FIS resolves the templates' resourceTags with "
            "it); FIS writes one configuration object per experiment under FisConfigs/, named "
            "by the experiment",
            applies_to=["Resource::*", PREFIX_OBJECTS],
        )
        return role

    def _equip(self, function: lambda_.Function) -> None:
        """The extension layer, its variables, read access to the prefix, and the mark."""
        function.add_layers(self._layer(function.architecture.name))
        settings = self._settings
        for name, value in {
            "AWS_LAMBDA_EXEC_WRAPPER": EXEC_WRAPPER,
            "AWS_FIS_CONFIGURATION_LOCATION": self.bucket.arn_for_objects(CONFIG_PREFIX),
            "AWS_FIS_EXTENSION_METRICS": settings.extension_metrics,
            "AWS_FIS_SLOW_POLL_INTERVAL_SECONDS": str(settings.slow_poll_interval_seconds),
        }.items():
            function.add_environment(name, value)
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["s3:GetObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{CONFIG_PREFIX}*")],
        )
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["s3:ListBucket"],
            resource_arns=[self.bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{CONFIG_PREFIX}*"]}},
        )
        assert function.role is not None
        suppress(
            default_policy(function.role),
            "AwsSolutions-IAM5",
            "the FIS extension reads the fault configurations FIS writes under FisConfigs/, "
            "named by the experiment",
            applies_to=[PREFIX_OBJECTS],
        )
        Tags.of(function).add(
            EXTENSION_TAG, "true", include_resource_types=["AWS::Lambda::Function"]
        )

    def _layer(self, architecture: str) -> lambda_.ILayerVersion:
        """The extension layer for ``architecture``: pinned per region, or AWS's public
        parameter resolved by CloudFormation in the region deployed to."""
        if architecture not in self._layers:
            arns = self._settings.extension_layer_arns
            if arns:
                if wrong := {a for a in arns.values() if layer_architecture(a) != architecture}:
                    raise ValueError(
                        f"chaos.extension_layer_arns: {sorted(wrong)} are not for "
                        f"{architecture}, the targeted functions' architecture"
                    )
                mapping = CfnMapping(
                    self,
                    f"ExtensionLayer-{architecture}",
                    mapping={region: {"arn": arn} for region, arn in arns.items()},
                )
                arn = mapping.find_in_map(Aws.REGION, "arn")
            else:
                arn = ssm.StringParameter.value_for_string_parameter(
                    self, LAYER_PARAMETER.format(architecture=architecture)
                )
            self._layers[architecture] = lambda_.LayerVersion.from_layer_version_arn(
                self, f"ExtensionLayerVersion-{architecture}", arn
            )
        return self._layers[architecture]


def _targeted_functions(
    experiments: Sequence[Experiment], functions: Sequence[lambda_.Function]
) -> list[lambda_.Function]:
    """The functions some Lambda target of ``experiments`` selects (all of its tags match), in
    the stack's order; a target that selects none is an error (a typo, or a renamed
    function)."""
    tags = [(function, function_tags(function)) for function in functions]
    selected: set[str] = set()
    for experiment in experiments:
        for name, wanted in experiment.lambda_targets().items():
            matched = [
                function.node.path
                for function, have in tags
                if all(have.get(key) == value for key, value in wanted.items())
            ]
            if not matched:
                raise ExperimentFileError(
                    f"{experiment.name}.json: target {name} (resourceTags {wanted}) selects "
                    "no function of the stack"
                )
            selected.update(matched)
    return [function for function, _ in tags if function.node.path in selected]
