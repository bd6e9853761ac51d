"""Run LocalStack Lambda execution environments as host processes, without Docker.

- ``plugin``: the plux entry point LocalStack loads (``LAMBDA_RUNTIME_EXECUTOR=host``).
- ``executor``: the ``RuntimeExecutor`` LocalStack drives (start / invoke / stop).
- ``environment``: one execution environment: a child interpreter and its pipes; and a
  function's fork server, which environments are forked from once it has their libraries.
- ``bootstrap``: the runtime inside the child (standard library only), the counterpart of
  the Python runtime interface client in a real Lambda sandbox.

Start-up hooks that make LocalStack cheaper to run (entry points
``localstack.hooks.on_infra_start``): ``telemetry`` (Lambda metrics and logs batched),
``stepfunctions`` (JSONPath parsed once, Task clients reused, a cheap ``TypedProps`` repr),
``gateway`` (twisted's per-request Content-Type parsing and access log; ``content_type`` is
the cheap parser) and ``event_sources`` (stream pollers read up to 1000 records per
GetRecords).
"""
