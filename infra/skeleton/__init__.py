"""Infrastructure of the skeleton service: one construct per path, composed by SkeletonService."""

from infra.skeleton.service import SkeletonService

__all__ = ["SkeletonService"]
