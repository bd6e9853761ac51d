"""Data access: the only code of the service that talks to DynamoDB."""

from skeleton.dal.repository import SkeletonRepository, default_repository

__all__ = ["SkeletonRepository", "default_repository"]
