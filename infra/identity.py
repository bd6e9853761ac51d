"""Customer identity: the stage's dev signing key and its published JWKS (construct
``Identity``); the settings are ``DeploymentConfig.identity`` (``infra/issuer.py``).

Customers authenticate with JWTs verified by the edge of the API functions that act for a
customer (``functions/edge/identity.py``): LocalStack's core runs no API Gateway authorizers,
so verification lives in the functions on both targets. Where the public keys come from:

- ``jwks_url`` unset (every stage by default): the stage is its own issuer. Its public JWKS is
  the SSM parameter ``/orderflow/<stage>/identity/jwks``, served at
  ``GET /.well-known/jwks.json``. With ``dev_signing_key`` (dev's default) a custom resource
  generates an EC P-256 key pair once per stage, keeps the private key in the secret
  ``orderflow/<stage>/identity-dev-signing-key`` and publishes the public key;
  ``orderflow token --customer c-1`` mints tokens with it. Without it (staging, prod) the set
  is empty until an operator publishes keys, and every token is refused (fail closed).
- ``jwks_url`` set: an external issuer's JWKS (a Cognito user pool's
  ``https://cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/jwks.json``), fetched and
  cached by the functions; ``issuer`` must then be that issuer's ``iss``.

Context ``orderflow:identity`` takes a JSON object, e.g.
``-c orderflow:identity='{"jwks_url": "https://idp.example.com/jwks.json", "issuer":
"https://idp.example.com/", "audience": "orderflow"}'``. Docs: docs/identity.md.
"""

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.config import DeploymentConfig
from infra.domain import API_PACKAGES, DomainFunctions
from infra.inventory import suppress_provider_findings
from infra.lambda_defaults import FunctionDefaults, tag_function
from infra.secrets import secret_name, stage_secret

SERVICE = "identity"
SIGNING_KEY_PURPOSE = "identity-dev-signing-key"
EMPTY_JWKS = '{"keys": []}'
KEY_TIMEOUT = Duration.seconds(30)


class Identity(Construct):
    """The stage's customer-token issuer as the functions see it.

    Attributes:
        config: the settings.
        jwks_parameter: the stage's public JWKS (None with an external ``jwks_url``).
        jwks: the function behind ``GET /.well-known/jwks.json`` (None with ``jwks_url``).
        signing_key_secret, signing_key_secret_name: the dev signing key's secret and its name
            (None without ``dev_signing_key``).
        signing_key_function, signing_key_resource: the custom resource that fills it.
    """

    def __init__(self, scope: Construct, id: str, *, defaults: FunctionDefaults) -> None:
        super().__init__(scope, id)
        stage_config = self._stage_config = defaults.config
        config = self.config = stage_config.identity
        self.jwks_parameter: ssm.StringParameter | None = None
        self.jwks: lambda_.Function | None = None
        self.signing_key_secret: secretsmanager.Secret | None = None
        self.signing_key_secret_name: str | None = None
        self.signing_key_function: lambda_.Function | None = None
        self.signing_key_resource: CustomResource | None = None
        if config.jwks_url is not None:
            return
        self.jwks_parameter = ssm.StringParameter(
            self,
            "JwksParameter",
            parameter_name=f"/orderflow/{stage_config.stage}/identity/jwks",
            string_value=EMPTY_JWKS,
            description="orderflow: the public keys of the stage's customer tokens (JWKS)",
        )
        function = DomainFunctions(
            self,
            service=SERVICE,
            defaults=defaults,
            environment={"JWKS_PARAMETER": self.jwks_parameter.parameter_name},
            shared_packages=API_PACKAGES,
        )
        self.jwks = function("Jwks", "jwks", "GET /.well-known/jwks.json")
        self.jwks.add_environment("RATE_LIMIT_ENABLED", "false")  # no API key on this route
        self.verify_tokens(self.jwks)
        if config.dev_signing_key:
            self._dev_signing_key(function)

    def verify_tokens(self, function: lambda_.Function) -> None:
        """Configure ``function``'s edge to verify customer tokens (issuer, audience, leeway,
        where the keys are), and let it read the stage's JWKS."""
        config = self.config
        function.add_environment("IDENTITY_ISSUER", config.issuer)
        function.add_environment("IDENTITY_AUDIENCE", config.audience)
        function.add_environment("IDENTITY_LEEWAY_SECONDS", str(config.leeway_seconds))
        function.add_environment("IDENTITY_JWKS_MAX_AGE_SECONDS", str(config.jwks_max_age_seconds))
        if self.jwks_parameter is None:
            assert config.jwks_url is not None
            function.add_environment("IDENTITY_JWKS_URL", config.jwks_url)
        else:
            function.add_environment("IDENTITY_JWKS_PARAMETER", self.jwks_parameter.parameter_name)
            self.jwks_parameter.grant_read(function)

    def _dev_signing_key(self, function: DomainFunctions) -> None:
        stage_config: DeploymentConfig = self._stage_config
        assert self.jwks_parameter is not None
        secret = stage_secret(
            self,
            "DevSigningKey",
            config=stage_config,
            purpose=SIGNING_KEY_PURPOSE,
            description="orderflow: the dev stage's customer-token signing key (private JWK "
            "set, written by the DevSigningKey custom resource)",
            rotation="an asymmetric signing key, rotated by hand (a new key first in the set, "
            "the old one kept until its tokens expire: docs/identity.md); Secrets "
            "Manager's rotation schedule would not publish the new public key",
        )
        key_function = function(
            "SigningKey", "signing_key", "makes the dev signing key on deploy", timeout=KEY_TIMEOUT
        )
        self.signing_key_secret_name = secret_name(stage_config, SIGNING_KEY_PURPOSE)
        key_function.add_environment("SIGNING_KEY_SECRET_NAME", self.signing_key_secret_name)
        secret.grant_read(key_function)
        secret.grant_write(key_function)
        self.jwks_parameter.grant_write(key_function)
        provider = cr.Provider(
            self,
            "SigningKeyProvider",
            on_event_handler=key_function,
            log_group=logs.LogGroup(
                self,
                "SigningKeyProviderLogs",
                retention=stage_config.log_retention,
                removal_policy=stage_config.removal_policy,
            ),
        )
        suppress_provider_findings(provider, "signing key")
        tag_function(provider, SERVICE, "signing-key-provider")
        self.signing_key_resource = CustomResource(
            self,
            "DevSigningKeyResource",
            service_token=provider.service_token,
            resource_type="Custom::DevSigningKey",
            properties={"Algorithm": "ES256"},
        )
        self.signing_key_resource.node.add_dependency(secret)
        self.signing_key_resource.node.add_dependency(self.jwks_parameter)
        self.signing_key_secret = secret
        self.signing_key_function = key_function
