# orderflow: `make deploy` brings the whole system up on the embedded emulator;
# `make test` runs every test tier (starting and deploying what the tests need).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13: `python3.13` if it runs, else pyenv's 3.13 (installed here but not on the PATH).
PYTHON313 ?= $(shell if python3.13 -c '' 2>/dev/null; then command -v python3.13; \
	else PYENV_VERSION=3.13.0 pyenv which python 2>/dev/null; fi)
VENVS := .venvs
DEV := $(VENVS)/dev/bin
EMU := $(VENVS)/emulator/bin
LAMBDA_PY := $(VENVS)/lambda-python3.13/bin
CTL := python3 emulator/ctl.py

# Where the emulator answers; credentials and region it accepts. Set AWS_ENDPOINT_URL to use an
# emulator you already run (e.g. LocalStack in Docker): `make up` then starts nothing.
export AWS_ENDPOINT_URL ?= http://127.0.0.1:4566
export AWS_ENDPOINT_URL_S3 ?= $(AWS_ENDPOINT_URL)
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_REGION ?= $(AWS_DEFAULT_REGION)
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_KNOWN_BROKEN_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
CDKLOCAL := node_modules/.bin/cdklocal
CDK_FLAGS := --require-approval never --no-notices --progress events

.PHONY: help install browser up down status deploy bootstrap test unit infra integration lint bench bench-ab chaos openapi clean
.PHONY: ministack-up ministack-deploy ministack-down

help:
	@echo "make deploy       install everything, start the emulator, deploy the Orderflow stack"
	@echo "make test         lint + unit + infra + integration tests (starts what they need)"
	@echo "make unit | infra | integration | lint    one tier"
	@echo "make up | down | status                   the embedded emulator"
	@echo "make bench        deploy Orderflow and OrderflowBench, run the benchmarks (docs/benchmarks.md)"
	@echo "make bench-ab     A/B of this checkout against 173cdc4, one table (docs/performance/ab-harness.md)"
	@echo "make openapi      regenerate docs/openapi.json from the API's routes and models"
	@echo "make ministack-up | ministack-deploy | ministack-down   the peer (bench/sagas.py, docs/performance/peer-ministack.md)"

# --- installation (each step re-runs only when its inputs change) -------------------------
install: $(VENVS)/dev/.installed $(VENVS)/emulator/.installed $(VENVS)/lambda-python3.13/.installed node_modules/.installed

$(VENVS)/%/bin/python:
	@test -n "$(PYTHON313)" || { echo "Python 3.13 not found (python3.13 or pyenv 3.13.0)"; exit 1; }
	$(PYTHON313) -m venv $(VENVS)/$*
	$(VENVS)/$*/bin/pip install --quiet --upgrade pip

$(VENVS)/dev/.installed: requirements.txt cli/pyproject.toml | $(VENVS)/dev/bin/python
	$(DEV)/pip install --quiet -r requirements.txt
	$(DEV)/pip install --quiet --no-deps -e cli  # the `orderflow` console script (cli/)
	@touch $@

$(VENVS)/emulator/.installed: emulator/requirements.txt emulator/constraints.txt emulator/hostexec/pyproject.toml | $(VENVS)/emulator/bin/python
	$(EMU)/pip install --quiet -r emulator/requirements.txt -c emulator/constraints.txt
	$(EMU)/pip install --quiet -e emulator/hostexec -c emulator/constraints.txt
	@touch $@

$(VENVS)/lambda-python3.13/.installed: emulator/lambda-runtime-requirements.txt | $(VENVS)/lambda-python3.13/bin/python
	$(LAMBDA_PY)/pip install --quiet -r emulator/lambda-runtime-requirements.txt
	@touch $@

# Headless Chromium for the tests that open the CLI's HTML pages (tests/browser.py): Debian's
# `chromium` package, installed with apt-get (as root, or through sudo) when not on the PATH.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# --- the emulator --------------------------------------------------------------------------
up: $(VENVS)/emulator/.installed $(VENVS)/lambda-python3.13/.installed node_modules/.installed
	@$(CTL) up

down:
	@$(CTL) down

status:
	@$(CTL) status

# --- deployment ----------------------------------------------------------------------------
bootstrap: install up
	@$(CDKLOCAL) bootstrap --no-notices --quiet aws://000000000000/$(AWS_DEFAULT_REGION) >/dev/null

# The product is the Orderflow stack; OrderflowBench (the benchmarks' baseline API, see
# infra/app.py) is deployed by `make bench` only. Each writes the outputs of the stacks it
# deployed to outputs.json, then runs the custom resources the emulator does not, and waits
# (bounded) until orders' copy of the catalogue holds every seeded price (the seed publishes
# them; orders copies them asynchronously), so an order placed right after is priced.
define deploy_stacks
	$(CDKLOCAL) deploy $(1) $(CDK_FLAGS) --outputs-file outputs.json
	@$(DEV)/python -m emulator.custom_resources cdk.out/Orderflow.template.json outputs.json
	@$(DEV)/python -m emulator.catalogue_ready cdk.out/Orderflow.template.json outputs.json
endef

deploy: bootstrap
	$(call deploy_stacks,Orderflow)
	@$(DEV)/python -m emulator.next_steps outputs.json

# --- tests ---------------------------------------------------------------------------------
test: lint unit infra integration

# cfn-lint checks every stack's template, synthesised offline into a temporary directory
# (`python -m infra.app`: cdk.json's context, no bundling, cdk-nag included). Ignored:
# W3005, "DependsOn already enforced by a GetAtt": CDK makes each function and the state
# machine depend on their role explicitly as well; redundant, harmless, and CDK's choice.
lint: $(VENVS)/dev/.installed
	$(DEV)/ruff check .
	$(DEV)/ruff format --check .
	$(DEV)/mypy app.py infra functions emulator bench tests tools cli
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	  $(DEV)/python -m infra.app "$$out" && \
	  $(DEV)/cfn-lint --ignore-checks W3005 -- "$$out"/*.template.json && \
	  echo "cfn-lint: $$(cd "$$out" && ls *.template.json | tr '\n' ' ')no errors"

unit: $(VENVS)/dev/.installed browser
	$(DEV)/python -m pytest tests/unit -q -p no:cacheprovider

infra: $(VENVS)/dev/.installed
	$(DEV)/python -m pytest tests/infra -q -p no:cacheprovider

# The integration suite deploys the app itself (tests/integration/conftest.py), so it needs
# everything `make deploy` needs.
integration: install browser
	$(DEV)/python -m pytest tests/integration -q -p no:cacheprovider

# Each prints a Markdown table; docs/benchmarks.md records them and their options. The
# benchmarks read outputs.json, which then has the outputs of both stacks (BaselineApiId).
# The benchmarks import tests/integration/support.py, which reads the kit's time-scale path:
# the kit's package on the path, as pytest has it (pyproject.toml).
BENCH := PYTHONPATH=emulator/hostexec $(DEV)/python -m

bench: bootstrap
	$(call deploy_stacks,Orderflow OrderflowBench)
	$(BENCH) bench.lambda_invoke
	$(BENCH) bench.orders
	$(BENCH) bench.rate_limit

# Issue 13's A/B: this checkout against a baseline commit (default 173cdc4), one emulator at a
# time on its own port (4571; the baseline's 4576), one table (bench/ab.py, docs/performance/ab-harness.md).
# AB_ARGS passes options, e.g. AB_ARGS='--rounds 2' or AB_ARGS='--only counts'.
bench-ab: install
	$(DEV)/python -m bench.ab $(AB_ARGS)

# Every experiment of chaos/ under load on the embedded emulator, one table (docs/chaos.md).
# CHAOS_ORDERS / CHAOS_RATE / CHAOS_SEED / CHAOS_SETTLE / CHAOS_EXPERIMENTS scale or pick them.
chaos: bootstrap
	$(call deploy_stacks,Orderflow)
	$(DEV)/python -m bench.chaos

# The orders API's OpenAPI document, generated from the handlers' routes and pydantic models;
# tests/unit/test_openapi.py fails while the committed file differs.
openapi: $(VENVS)/dev/.installed
	$(DEV)/python -m tools.openapi

# --- the peer: MiniStack (issue 13), for bench/sagas.py side by side -------------------------
# MiniStack from PyPI (pinned) in its own Python 3.13 venv, with boto3, started on MINISTACK_PORT
# with its local Lambda executor (no Docker): Python functions run in worker processes of that
# venv's interpreter, Node.js ones (CDK's custom resource provider) with `node`. `make ministack-deploy` deploys the same CDK app
# to it (MiniStack runs the custom resources itself); outputs in .ministack/outputs.json. It
# cannot create two resource types of the stack, off the saga's path, nor resolve one output
# (its Ref of a secret is the name, not the ARN): they are left out (bench/peer_template.py).
MINISTACK_VERSION := 1.5.33
MINISTACK_BOTO3 := 1.43.106
MINISTACK_PORT ?= 4577
MINISTACK_URL := http://127.0.0.1:$(MINISTACK_PORT)
MINISTACK_STATE := .ministack
MINISTACK_LACKS := AWS::Events::Archive AWS::XRay::SamplingRule --output PaymentWebhookSecretName

# Its local executor runs Python functions with its own interpreter (sys.executable): boto3 is
# installed beside it, at the version of the botocore MiniStack pins.
$(VENVS)/ministack/.installed: | $(VENVS)/ministack/bin/python
	$(VENVS)/ministack/bin/pip install --quiet ministack==$(MINISTACK_VERSION) \
	  boto3==$(MINISTACK_BOTO3) botocore==$(MINISTACK_BOTO3)
	@touch $@

ministack-up: $(VENVS)/ministack/.installed $(VENVS)/lambda-python3.13/.installed
	@mkdir -p $(MINISTACK_STATE)
	@if [ -f $(MINISTACK_STATE)/pid ] && kill -0 $$(cat $(MINISTACK_STATE)/pid) 2>/dev/null; then \
	  echo "MiniStack already up (pid $$(cat $(MINISTACK_STATE)/pid))"; else \
	  PATH=$(CURDIR)/$(LAMBDA_PY):$$PATH GATEWAY_PORT=$(MINISTACK_PORT) BIND_HOST=127.0.0.1 MINISTACK_HOST=127.0.0.1 \
	  AWS_ENDPOINT_URL=$(MINISTACK_URL) AWS_ENDPOINT_URL_S3=$(MINISTACK_URL) \
	  LAMBDA_EXECUTOR=local S3_DATA_DIR=$(CURDIR)/$(MINISTACK_STATE)/s3 TMPDIR=$(CURDIR)/$(MINISTACK_STATE) \
	  setsid $(VENVS)/ministack/bin/ministack > $(MINISTACK_STATE)/ministack.log 2>&1 & \
	  echo $$! > $(MINISTACK_STATE)/pid; \
	  for i in $$(seq 100); do curl -sf $(MINISTACK_URL)/_ministack/health >/dev/null && break; sleep 0.2; done; \
	  curl -sf $(MINISTACK_URL)/_ministack/health >/dev/null \
	    && echo "MiniStack ready at $(MINISTACK_URL) (pid $$(cat $(MINISTACK_STATE)/pid))" \
	    || { echo "MiniStack did not start; see $(MINISTACK_STATE)/ministack.log"; exit 1; }; fi

ministack-deploy: ministack-up node_modules/.installed
	AWS_ENDPOINT_URL=$(MINISTACK_URL) AWS_ENDPOINT_URL_S3=$(MINISTACK_URL) \
	  $(CDKLOCAL) synth Orderflow --no-notices -q -o $(MINISTACK_STATE)/cdk.out
	$(DEV)/python -m bench.peer_template $(MINISTACK_STATE)/cdk.out/Orderflow.template.json \
	  $(MINISTACK_LACKS)
	AWS_ENDPOINT_URL=$(MINISTACK_URL) AWS_ENDPOINT_URL_S3=$(MINISTACK_URL) \
	  $(CDKLOCAL) bootstrap --no-notices --app $(MINISTACK_STATE)/cdk.out \
	  aws://000000000000/$(AWS_DEFAULT_REGION) >/dev/null
	AWS_ENDPOINT_URL=$(MINISTACK_URL) AWS_ENDPOINT_URL_S3=$(MINISTACK_URL) \
	  $(CDKLOCAL) deploy Orderflow $(CDK_FLAGS) --app $(MINISTACK_STATE)/cdk.out \
	  --outputs-file $(MINISTACK_STATE)/outputs.json

# Stops MiniStack and every process it started (its Lambda workers), by the process group.
# (SIGTERM, then SIGKILL after 5 s: a server with requests in flight may not exit on SIGTERM).
ministack-down:
	@if [ -f $(MINISTACK_STATE)/pid ]; then pid=$$(cat $(MINISTACK_STATE)/pid); \
	  kill -- -$$pid 2>/dev/null; \
	  for i in $$(seq 25); do kill -0 $$pid 2>/dev/null || break; sleep 0.2; done; \
	  kill -KILL -- -$$pid 2>/dev/null; \
	  rm -f $(MINISTACK_STATE)/pid; echo "MiniStack stopped"; else echo "MiniStack not running"; fi

clean: down ministack-down
	rm -rf cdk.out outputs.json .localstack $(MINISTACK_STATE)
