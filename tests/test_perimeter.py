"""The webhooks' perimeter (issue 16, item 5): only the control plane's addresses reach them.

``cluster.apiServerCidrs`` are the EKS control-plane subnets (the API server's ENIs), /24 or
narrower, never the VPC. An attacker's pod gets an address of a node or pod subnet of the same
VPC: here, an address of the /16 around each control-plane subnet that no control-plane subnet
holds. It must match no ingress peer of a webhook port.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from components.external_secrets import names as eso_names
from components.vault import names as vault_names
from planner.run import Recording
from tests.conftest import STACKS, stack_config_objects

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
WEBHOOK_PORTS = {eso_names.WEBHOOK_PORT, vault_names.INJECTOR_PORT}


def _pod_address(cidrs: list[str]) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address of the VPC (the /16 around the first control-plane subnet) outside every control-plane subnet."""
    networks = [ipaddress.ip_network(c) for c in cidrs]
    vpc = networks[0].supernet(new_prefix=16)
    return next(a for a in vpc.hosts() if not any(a in n for n in networks))


@pytest.mark.parametrize("stack", STACKS)
def test_a_pod_address_reaches_no_webhook(recording: Callable[..., Recording], stack: str) -> None:
    cidrs = stack_config_objects(stack)["platform:cluster"]["apiServerCidrs"]
    pod = _pod_address(cidrs)
    found = 0
    for policy in recording(stack).by_type(NETWORK_POLICY):
        for rule in policy["inputs"]["spec"].get("ingress", []):
            if not {p["port"] for p in rule.get("ports", [])} & WEBHOOK_PORTS:
                continue
            found += 1
            peers = rule["from"]
            assert all(set(peer) == {"ipBlock"} for peer in peers), policy["urn"]  # no pod or namespace selector
            blocks = [ipaddress.ip_network(peer["ipBlock"]["cidr"]) for peer in peers]
            assert sorted(map(str, blocks)) == sorted(cidrs), policy["urn"]
            assert not any(pod in block for block in blocks), (policy["urn"], str(pod))
    assert found >= 2  # the ESO webhook and the Vault Agent Injector


@pytest.mark.parametrize("stack", STACKS)
def test_the_stack_files_name_control_plane_subnets_not_the_vpc(stack: str) -> None:
    for cidr in stack_config_objects(stack)["platform:cluster"]["apiServerCidrs"]:
        assert ipaddress.ip_network(cidr).prefixlen >= 24, cidr
