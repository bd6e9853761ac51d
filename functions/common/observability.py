"""Powertools logger, tracer and metrics, one of each per execution environment.

They take their settings from the environment that ``ServiceFunction`` sets:
``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE`` and ``LOG_LEVEL``.
Outside Lambda the tracer disables itself.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
