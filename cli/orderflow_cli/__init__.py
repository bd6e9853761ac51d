"""``orderflow``: the operator's command line (``cli/``, installed editable by ``make install``).

One module per command group (``dead_letters``: ``dlq``, ``redrive``; ``replay``), each with a
``register(app)``; ``main`` composes them. Every command reads the stack's outputs
(``outputs.json``, written by ``make deploy``) and talks to AWS through boto3's defaults: the
endpoint is ``AWS_ENDPOINT_URL`` when set (the emulator), else real AWS.
"""
