"""Fixtures for every tier. The unit tests' moto fixtures are a plugin registered here (pytest
accepts ``pytest_plugins`` only in the top-level conftest); none of them is autouse."""

pytest_plugins = ["tests.unit.domain_common.fixtures", "tests.unit.domain_common.xray"]
