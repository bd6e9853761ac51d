"""CDK infrastructure of orderflow: one stack, one construct per service."""
