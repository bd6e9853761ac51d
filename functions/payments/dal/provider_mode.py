"""The provider's operating mode, read from SSM Parameter Store through Powertools Parameters
(cached per execution environment for ``max_age`` seconds, so a change reaches every
environment within that time)."""

from aws_lambda_powertools.utilities import parameters

from payments.provider import ProviderMode
from shared_kernel.observability import logger

MODES = ", ".join(mode.value for mode in ProviderMode)


class ProviderModeParameter:
    """``mode()`` reads the parameter. A value that is not a mode, or a parameter that cannot
    be read, is logged at error level (with the value and the allowed ones) and taken as
    ``down``: payments stop (the breaker opens; orders are retried, then cancelled with
    PAYMENT_UNAVAILABLE) rather than run in a mode no operator asked for."""

    def __init__(self, name: str, max_age_seconds: int) -> None:
        self.name = name
        self._max_age = max_age_seconds

    def mode(self) -> ProviderMode:
        try:
            value = parameters.get_parameter(self.name, max_age=self._max_age)
        except parameters.exceptions.GetParameterError as exc:
            logger.error(
                "provider mode unreadable: taking it as down",
                extra={"parameter": self.name, "problem": str(exc)},
            )
            return ProviderMode.DOWN
        text = str(value).strip().lower()
        try:
            return ProviderMode(text)
        except ValueError:
            logger.error(
                "invalid provider mode: taking it as down",
                extra={"parameter": self.name, "value": str(value)[:64], "allowed": MODES},
            )
            return ProviderMode.DOWN
