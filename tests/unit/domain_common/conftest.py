from tests.unit.domain_common.fixtures import aws_env, bus, lambda_context, mocked_aws

__all__ = ["aws_env", "bus", "lambda_context", "mocked_aws"]
