"""Code shared by every service, bundled next to each service's own package."""
