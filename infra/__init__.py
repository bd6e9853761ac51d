"""CDK infrastructure of orderflow: the ``Orderflow`` stack (one construct per service) and the
benchmark's ``OrderflowBench`` stack.

Importing ``infra`` puts ``functions/`` on ``sys.path`` (first, as the Lambda runtime and pytest
do), so that ``infra.contracts`` can import the names the function code and the infrastructure
must agree on (error classes the saga retries and catches, event sources and types the rules
match, outbox markers the stream filter matches) from where they are defined. This is the only
place infra touches ``sys.path``; only ``infra.contracts`` imports function code.
"""

import sys
from pathlib import Path

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
"""Root of all Lambda code: one folder per service, ``shared_kernel/`` and ``requirements.txt``."""

if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS_DIR))
