"""Business rules of the skeleton, free of Lambda and event formats."""
