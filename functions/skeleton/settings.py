"""The skeleton functions' environment variables, validated once per execution environment."""

from functools import cache

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    """Set by the CDK constructs in ``infra/skeleton/``."""

    table_name: str
    """``TABLE_NAME``: the skeleton's DynamoDB table."""


@cache
def get_settings() -> Settings:
    """The validated settings; raises ``ValidationError`` if a variable is missing."""
    return Settings()
