"""Secrets reach other resources only as secrets, at their exact nested positions.

A probe program wires a secret config value (read by the real config loader) and a
RandomPassword result into nested inputs of other resources; the recording
monitor must register each of those positions as a secret and never the plain value.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pytest

from components.config import load_platform_config
from planner.mocks import SECRET, MockIdentity, PlanMocks, RecordingMonitor
from planner.run import run_program
from planner.stackfile import placeholder_for, read_stack
from tests.conftest import ROOT, STACKS, config_secret_keys, stack_config_objects

# A config secret key the dev stack's apps name (the probe reads it as the program does).
PROBE_KEY = config_secret_keys(stack_config_objects("dev"))[0]


def _probe() -> None:
    config = load_platform_config()
    stripe = config.secret_values[PROBE_KEY]
    password = random.RandomPassword("probe-password", length=24, special=False)
    k8s.core.v1.ConfigMap(
        "probe",
        metadata={"name": "probe", "namespace": "staging"},
        data={"plain": "visible", "fromConfig": stripe, "fromRandom": password.result},
    )
    k8s.apps.v1.Deployment(
        "probe",
        metadata={"name": "probe", "namespace": "staging"},
        spec={
            "selector": {"matchLabels": {"app": "probe"}},
            "template": {
                "metadata": {"labels": {"app": "probe"}},
                "spec": {"containers": [{
                    "name": "app",
                    "image": "example/app:1",
                    "env": [{"name": "PLAIN", "value": "ok"}, {"name": "DERIVED", "value": password.result.apply(lambda p: "x" + p)}],
                }]},
            },
        },
    )


def _by_name(records: list[dict], type_: str) -> dict:
    return next(r for r in records if r["type"] == type_)


def test_config_secret_and_random_result_are_secret_at_exact_positions() -> None:
    recording = run_program(read_stack(ROOT, "dev"), program=_probe)
    config_map = _by_name(recording.resources, "kubernetes:core/v1:ConfigMap")["inputs"]
    assert config_map["data"] == {"plain": "visible", "fromConfig": SECRET, "fromRandom": SECRET}
    deployment = _by_name(recording.resources, "kubernetes:apps/v1:Deployment")["inputs"]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "PLAIN", "value": "ok"}, {"name": "DERIVED", "value": SECRET}]
    password = _by_name(recording.resources, "random:index/randomPassword:RandomPassword")
    assert "result" in password["additionalSecretOutputs"]


def test_no_plain_secret_value_anywhere_in_the_recording() -> None:
    _, state = PlanMocks(MockIdentity()).new_resource(pulumi.runtime.mocks.MockResourceArgs(
        typ="random:index/randomPassword:RandomPassword", name="probe-password", inputs={"length": 24},
        provider="", resource_id=""))
    text = json.dumps(run_program(read_stack(ROOT, "dev"), program=_probe).resources)
    assert placeholder_for(f"platform:{PROBE_KEY}") not in text
    assert len(state["result"]) == 24 and state["result"] not in text


def test_without_the_engines_secret_outputs_a_random_result_would_leak() -> None:
    """Control: the SDK's plain mock monitor ignores additionalSecretOutputs, which is why the plan has its own."""

    class ForgetfulMonitor(RecordingMonitor):
        def RegisterResource(self, request):  # noqa: N802
            request.ClearField("additionalSecretOutputs")
            return super().RegisterResource(request)

    monitor = ForgetfulMonitor(PlanMocks(MockIdentity()))
    recording = run_program(read_stack(ROOT, "dev"), program=_probe, monitor=monitor)
    config_map = _by_name(recording.resources, "kubernetes:core/v1:ConfigMap")["inputs"]
    assert config_map["data"]["fromRandom"] != SECRET
    assert config_map["data"]["fromConfig"] == SECRET  # config secrets are marked by the SDK itself


@pytest.mark.parametrize("stack", STACKS)
def test_the_stacks_config_keys_become_secret_placeholders(stack: str) -> None:
    """Every key this stack's apps name (unset, or set with `secure:`) is a secret placeholder; no other stack's."""
    stack_input = read_stack(ROOT, stack)
    mine = {f"platform:{k}" for k in config_secret_keys(stack_config_objects(stack))}
    assert mine and mine <= set(stack_input.secret_keys)
    for key in mine:
        assert stack_input.config[key] == placeholder_for(key)
    others = {f"platform:{k}" for s in STACKS if s != stack for k in config_secret_keys(stack_config_objects(s))}
    assert not (others - mine) & set(stack_input.config)
