"""AWS FIS served by the emulator (LocalStack's open-source core has no FIS).

Registered as the LocalStack service ``fis`` by the entry point ``localstack.aws.provider``
``fis:default`` (emulator/hostexec/pyproject.toml); requests are parsed from botocore's FIS
model, so boto3's ``fis`` client and ``aws fis`` work against the emulator. What it serves and
how it differs from AWS: emulator/README.md ("AWS FIS") and docs/chaos.md.

An experiment goes ``initiating`` (targets resolved from the emulator's Lambda functions and
their tags) -> ``running`` (its Lambda actions on ``faults.BOARD``, applied by the host
executor) -> ``completed`` after its longest action, or ``stopped`` by StopExperiment.
"""

from __future__ import annotations

import copy
import random
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from localstack.aws.api import CommonServiceException, RequestContext, handler
from localstack.services.plugins import Service, ServiceLifecycleHook, aws_provider

from orderflow_hostexec.fis import faults, model
from orderflow_hostexec.fis.parameters import PROVIDER_MODE, ParameterOverride, ssm_parameters


def _validation(message: str) -> CommonServiceException:
    return CommonServiceException("ValidationException", message, 400, sender_fault=True)


def _not_found(message: str) -> CommonServiceException:
    return CommonServiceException("ResourceNotFoundException", message, 404, sender_fault=True)


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:14].upper()


def _lambda_functions(account_id: str, region: str) -> dict[str, dict[str, str]]:
    """Every function of the account and region (unqualified ARN) with its tags."""
    from localstack.services.lambda_.invocation.models import lambda_stores

    store = lambda_stores[account_id][region]
    found: dict[str, dict[str, str]] = {}
    for function in list(store.functions.values()):
        latest = function.versions.get("$LATEST")
        if latest is None:
            continue
        arn = latest.id.unqualified_arn()
        found[arn] = dict(store.tags.get_tags(arn) or {})
    return found


class _Run:
    """A started experiment: its record (the API shape) and the thread that runs it."""

    def __init__(
        self,
        record: dict[str, Any],
        actions: list[faults.ActiveAction],
        overrides: list[ParameterOverride] | None = None,
    ) -> None:
        self.record = record
        self.actions = actions
        self.overrides = overrides or []  # orderflow:payments:provider-mode actions
        self.stop_requested = threading.Event()
        self.lock = threading.Lock()


class FisProvider(ServiceLifecycleHook):
    service = "fis"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._templates: dict[str, dict[str, Any]] = {}
        self._runs: dict[str, _Run] = {}
        self._tags: dict[str, dict[str, str]] = {}  # resource ARN -> tags

    # --- templates -----------------------------------------------------------------------

    def _template(self, template_id: str) -> dict[str, Any]:
        with self._lock:
            template = self._templates.get(template_id)
        if template is None:
            raise _not_found(f"Experiment template {template_id} not found.")
        return template

    def _template_view(self, template: dict[str, Any]) -> dict[str, Any]:
        view = copy.deepcopy(template)
        view["tags"] = dict(self._tags.get(template["arn"], {}))
        return view

    @staticmethod
    def _check(targets: Any, actions: Any, stop_conditions: Any) -> None:
        try:
            model.validate_template(targets or {}, actions or {}, stop_conditions or [])
        except model.FisValidationError as error:
            raise _validation(str(error)) from None

    @handler("CreateExperimentTemplate", expand=False)
    def create_experiment_template(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        targets = request.get("targets") or {}
        actions = request.get("actions") or {}
        stop_conditions = request.get("stopConditions") or []
        self._check(targets, actions, stop_conditions)
        if model.SEED_TAG in (request.get("tags") or {}):
            try:
                model.seed_from(request.get("tags"))
            except model.FisValidationError as error:
                raise _validation(str(error)) from None
        template_id = _new_id("EXT")
        now = datetime.now(UTC)
        template = {
            "id": template_id,
            "arn": f"arn:aws:fis:{context.region}:{context.account_id}:experiment-template/"
            f"{template_id}",
            "description": request.get("description", ""),
            "targets": targets,
            "actions": actions,
            "stopConditions": stop_conditions,
            "creationTime": now,
            "lastUpdateTime": now,
            "roleArn": request.get("roleArn"),
            "experimentOptions": {
                "accountTargeting": "single-account",
                "emptyTargetResolutionMode": "fail",
            },
            "_account": context.account_id,
            "_region": context.region,
        }
        with self._lock:
            self._templates[template_id] = template
            self._tags[template["arn"]] = dict(request.get("tags") or {})
        return {"experimentTemplate": self._public(self._template_view(template))}

    @staticmethod
    def _public(record: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in record.items() if not key.startswith("_")}

    @handler("GetExperimentTemplate", expand=False)
    def get_experiment_template(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        template = self._template(request["id"])
        return {"experimentTemplate": self._public(self._template_view(template))}

    @handler("ListExperimentTemplates", expand=False)
    def list_experiment_templates(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            templates = list(self._templates.values())
        return {
            "experimentTemplates": [
                {
                    key: template[key]
                    for key in ("id", "arn", "description", "creationTime", "lastUpdateTime")
                }
                | {"tags": dict(self._tags.get(template["arn"], {}))}
                for template in templates
                if template["_account"] == context.account_id
                and template["_region"] == context.region
            ]
        }

    @handler("UpdateExperimentTemplate", expand=False)
    def update_experiment_template(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        template = self._template(request["id"])
        updated = dict(template)
        for key in ("description", "targets", "actions", "stopConditions", "roleArn"):
            if key in request:
                updated[key] = request[key]
        self._check(updated["targets"], updated["actions"], updated["stopConditions"])
        updated["lastUpdateTime"] = datetime.now(UTC)
        with self._lock:
            self._templates[template["id"]] = updated
        return {"experimentTemplate": self._public(self._template_view(updated))}

    @handler("DeleteExperimentTemplate", expand=False)
    def delete_experiment_template(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        template = self._template(request["id"])
        with self._lock:
            self._templates.pop(template["id"], None)
            self._tags.pop(template["arn"], None)
        return {"experimentTemplate": self._public(self._template_view(template))}

    # --- experiments ---------------------------------------------------------------------

    def _run(self, experiment_id: str) -> _Run:
        with self._lock:
            run = self._runs.get(experiment_id)
        if run is None:
            raise _not_found(f"Experiment {experiment_id} not found.")
        return run

    def _experiment_view(self, run: _Run) -> dict[str, Any]:
        with run.lock:
            record = copy.deepcopy(run.record)
        for name, action in record["actions"].items():
            injected, seen = faults.BOARD.counts(record["id"], name)
            if action["actionId"].startswith(("aws:lambda:", "orderflow:lambda:")):
                action["state"]["reason"] = (
                    f"{action['state']['reason']} Faults injected: {injected} of {seen} "
                    "invocations."
                ).strip()
            elif unit := model.SDK_ACTIONS.get(action["actionId"]):  # fis-sdk
                action["state"]["reason"] = (
                    f"{action['state']['reason']} Faults injected: {injected} of {seen} {unit}."
                ).strip()
            elif action["actionId"] == PROVIDER_MODE:
                action["state"]["reason"] = (
                    f"{action['state']['reason']} Faults injected: {injected}."
                ).strip()
        record["tags"] = dict(self._tags.get(record["arn"], {}))
        return self._public(record)

    @handler("StartExperiment", expand=False)
    def start_experiment(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        template = self._template(request["experimentTemplateId"])
        tags = dict(request.get("tags") or {})
        try:
            seed = model.seed_from(tags, self._tags.get(template["arn"]))
        except model.FisValidationError as error:
            raise _validation(str(error)) from None
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        tags.setdefault(model.SEED_TAG, str(seed))  # the seed used, so the run can be repeated
        rng = random.Random(seed)
        account, region = template["_account"], template["_region"]
        candidates: dict[str, dict[str, dict[str, str]]] = {}  # resource type -> ARN -> tags
        resolved: dict[str, list[str]] = {}
        for name, target in template["targets"].items():
            kind = target["resourceType"]
            if kind not in candidates:
                candidates[kind] = (
                    ssm_parameters(account, region)
                    if kind == model.SSM_PARAMETER
                    else _lambda_functions(account, region)
                )
            try:
                resolved[name] = model.select_targets(candidates[kind], target, rng)
            except model.FisValidationError as error:
                raise _validation(f"target {name}: {error}") from None
        experiment_id = _new_id("EXP")
        now = datetime.now(UTC)
        started = time.monotonic()
        active: list[faults.ActiveAction] = []
        overrides: list[ParameterOverride] = []
        actions: dict[str, Any] = {}
        for name, action in template["actions"].items():
            parameters = model.parse_action(
                name, action["actionId"], action.get("parameters") or {}
            )
            target_name = next(iter((action.get("targets") or {}).values()), None)
            actions[name] = {
                "actionId": action["actionId"],
                "description": action.get("description", ""),
                "parameters": dict(action.get("parameters") or {}),
                "targets": dict(action.get("targets") or {}),
                "startAfter": [],
                "state": {"status": "pending", "reason": "Initial state."},
                "_duration_s": parameters.duration_s,
            }
            if action["actionId"] == PROVIDER_MODE:
                assert target_name is not None  # validated: it takes Parameters
                overrides.append(
                    ParameterOverride(
                        experiment_id,
                        name,
                        account_id=account,
                        region=region,
                        arns=resolved[target_name],
                        value=parameters.mode,
                        duration_s=parameters.duration_s,
                    )
                )
            if target_name is not None:
                lambda_target = template["targets"][target_name]["resourceType"] == (
                    model.LAMBDA_FUNCTION
                )
                active.append(
                    faults.ActiveAction(
                        experiment_id=experiment_id,
                        name=name,
                        action_id=action["actionId"],
                        functions=frozenset(resolved[target_name] if lambda_target else ()),
                        parameters=parameters,
                        draw=model.Draw(seed + len(active) + 1),
                        ends_at=started + parameters.duration_s,
                    )
                )
        record = {
            "id": experiment_id,
            "arn": f"arn:aws:fis:{context.region}:{context.account_id}:experiment/{experiment_id}",
            "experimentTemplateId": template["id"],
            "roleArn": template.get("roleArn"),
            "state": {"status": "initiating", "reason": "Experiment is initiating."},
            "targets": {
                name: self._public(dict(target)) | {"resourceArns": resolved[name]}
                for name, target in template["targets"].items()
            },
            "actions": actions,
            "stopConditions": copy.deepcopy(template["stopConditions"]),
            "creationTime": now,
            "startTime": now,
            "experimentOptions": template["experimentOptions"],
            "_account": context.account_id,
            "_region": context.region,
        }
        run = _Run(record, active, overrides)
        with self._lock:
            self._runs[experiment_id] = run
            self._tags[record["arn"]] = tags
        view = self._experiment_view(run)
        for action in view["actions"].values():
            action.pop("_duration_s", None)
        threading.Thread(
            target=self._execute, args=(run,), name=f"fis-{experiment_id}", daemon=True
        ).start()
        return {"experiment": view}

    def _execute(self, run: _Run) -> None:
        """Run an experiment: its actions on the board until the longest ends, or a stop."""
        experiment_id = run.record["id"]
        with run.lock:
            longest = max(a["_duration_s"] for a in run.record["actions"].values())
            running = run.record["state"]["status"] == "initiating"  # not stopped meanwhile
            if running:
                for action in run.record["actions"].values():
                    action["state"] = {"status": "running", "reason": "Action is running."}
                    action["startTime"] = datetime.now(UTC)
                faults.BOARD.add(experiment_id, run.actions)
                run.record["state"] = {"status": "running", "reason": "Experiment is running."}
        began = time.monotonic()
        stopped = False
        # orderflow:payments:provider-mode: set now, put back at its own end or at a stop
        for override in run.overrides if running else []:
            override.begin()
        for override in sorted(run.overrides, key=lambda o: o.duration_s):
            if not stopped:
                remaining = began + override.duration_s - time.monotonic()
                stopped = run.stop_requested.wait(max(remaining, 0))
            override.end()
        if not stopped:
            stopped = run.stop_requested.wait(max(began + longest - time.monotonic(), 0))
        elapsed = time.monotonic() - began
        # actions shorter than the longest are over on the board already (their ends_at)
        faults.BOARD.remove(experiment_id)
        now = datetime.now(UTC)
        with run.lock:
            for action in run.record["actions"].values():
                ended_early = stopped and elapsed < action["_duration_s"]
                action["state"] = (
                    {"status": "stopped", "reason": "Action was stopped."}
                    if ended_early
                    else {"status": "completed", "reason": "Action was completed."}
                )
                action["endTime"] = now
            run.record["state"] = (
                {"status": "stopped", "reason": "Experiment was stopped."}
                if stopped
                else {"status": "completed", "reason": "Experiment completed."}
            )
            run.record["endTime"] = now

    @handler("GetExperiment", expand=False)
    def get_experiment(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        view = self._experiment_view(self._run(request["id"]))
        for action in view["actions"].values():
            action.pop("_duration_s", None)
        return {"experiment": view}

    @handler("ListExperiments", expand=False)
    def list_experiments(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        template_id = request.get("experimentTemplateId")
        with self._lock:
            runs = list(self._runs.values())
        summaries = []
        for run in runs:
            with run.lock:
                record = run.record
                if record["_account"] != context.account_id or record["_region"] != context.region:
                    continue
                if template_id and record["experimentTemplateId"] != template_id:
                    continue
                summaries.append(
                    {
                        key: copy.deepcopy(record[key])
                        for key in ("id", "arn", "experimentTemplateId", "state", "creationTime")
                    }
                    | {"tags": dict(self._tags.get(record["arn"], {}))}
                )
        return {"experiments": summaries}

    @handler("StopExperiment", expand=False)
    def stop_experiment(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        run = self._run(request["id"])
        with run.lock:
            if run.record["state"]["status"] in ("initiating", "running"):
                run.record["state"] = {"status": "stopping", "reason": "Experiment is stopping."}
                # the faults end now, not when the runner thread wakes
                faults.BOARD.remove(run.record["id"])
                run.stop_requested.set()
        view = self._experiment_view(run)
        for action in view["actions"].values():
            action.pop("_duration_s", None)
        return {"experiment": view}

    # --- tags ------------------------------------------------------------------------------

    def _tagged(self, arn: str) -> dict[str, str]:
        with self._lock:
            if arn not in self._tags:
                raise _not_found(f"Resource {arn} not found.")
            return self._tags[arn]

    @handler("TagResource", expand=False)
    def tag_resource(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._tagged(request["resourceArn"]).update(request.get("tags") or {})
        return {}

    @handler("UntagResource", expand=False)
    def untag_resource(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        tags = self._tagged(request["resourceArn"])
        for key in request.get("tagKeys") or []:
            tags.pop(key, None)
        return {}

    @handler("ListTagsForResource", expand=False)
    def list_tags_for_resource(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return {"tags": dict(self._tagged(request["resourceArn"]))}


@aws_provider(api="fis")
def fis_provider() -> Service:
    return Service.for_provider(FisProvider())
