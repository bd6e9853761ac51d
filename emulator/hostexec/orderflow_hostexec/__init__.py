"""Run LocalStack Lambda execution environments as host processes, without Docker.

- ``plugin``: the plux entry point LocalStack loads (``LAMBDA_RUNTIME_EXECUTOR=host``).
- ``executor``: the ``RuntimeExecutor`` LocalStack drives (start / invoke / stop).
- ``environment``: one execution environment: a child interpreter and its pipes; and a
  function's fork server, which environments are forked from once it has their libraries.
- ``bootstrap``: the runtime inside the child (standard library only), the counterpart of
  the Python runtime interface client in a real Lambda sandbox.

Patches to LocalStack, each declared once (``patches.Patch``: name, targets, apply) and
listed in ``registry``; ``startup`` is the one ``on_infra_start`` hook: it checks every
patch's targets and pins (``patches``), refuses to start on a mismatch, then applies them.

- ``kit``: what the kit relies on (the executor contract, offline installs, settings) and
  ``GET /_orderflow/patches``;
- ``behaviour``: behaviour fixes (a function's ``LoggingConfig.LogGroup``);
- performance hooks: ``telemetry`` (Lambda metrics and logs batched), ``stepfunctions``
  (JSONPath parsed once, Task clients reused, a cheap ``TypedProps`` repr), ``gateway``
  (twisted's per-request Content-Type parsing and access log; ``content_type`` is the cheap
  parser) and ``event_sources`` (stream pollers read up to 1000 records per GetRecords).
"""
