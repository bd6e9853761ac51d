"""The plux plugin LocalStack resolves from ``LAMBDA_RUNTIME_EXECUTOR=host``."""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class HostRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "host"

    def load(self, *args, **kwargs):
        # Imported lazily: LocalStack lists plugins long before Lambda is first used.
        from orderflow_hostexec.executor import HostRuntimeExecutor

        return HostRuntimeExecutor
