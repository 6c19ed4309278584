"""Phase 2 on a real server: applied with the deployer's token, no escalation, the access matrix, Kubernetes logins.

The deployer logs in through AWS auth, which OpenBao does not have: here its token is made with
exactly the policy the bootstrap Job writes (read from the plan's ConfigMap), as the AWS auth
role hands it out (``token_policies=deployer`` plus ``default``). Kubernetes auth reviews tokens
against a loopback TokenReview stub: ``kubernetes_host`` (``https://kubernetes.default.svc`` in
the plan, applied as such by the deployer) is pointed at the stub with the root token afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components.vault import jobs
from components.vault_databases import DATABASE_MOUNT
from components.vault_policies import AUDIENCE
from planner.run import Recording
from planner.vault_access import AWS_ROLE, ROLE, vault_access_matrix
from tests.conftest import STACKS, stack_settings
from tests.realengine.openbao import BaoError, OpenBao
from tests.realengine.phase2 import TokenReviewStub, apply_resource, throwaway_ca_pem


@dataclass
class Applied:
    stack: str
    server: OpenBao
    deployer: str
    resources: list[dict[str, Any]]
    stub: TokenReviewStub

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == kind]

    def status(self, method: str, path: str, token: str, body: Any = None) -> int:
        try:
            self.server.request(method, path, token, body)
        except BaoError as err:
            return err.status
        return 200

    def caps(self, token: str, path: str) -> set[str]:
        return set(self.server.request("POST", "sys/capabilities-self", token, {"paths": [path]})[path])

    def login(self, role: str, namespace: str, service_account: str, audience: str = AUDIENCE) -> dict[str, Any]:
        jwt = self.stub.issue(namespace, service_account, (audience,))
        return self.server.request("POST", "auth/kubernetes/login", body={"role": role, "jwt": jwt})["auth"]


@pytest.fixture(scope="module", params=STACKS)
def applied(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            recording: Callable[..., Recording]) -> Iterator[Applied]:
    stack = request.param
    rec = recording(stack)
    resources = [r for r in rec.resources if r["type"].startswith("vault:")]
    scripts = rec.one("kubernetes:core/v1:ConfigMap", "vault-bootstrap-scripts")["inputs"]["data"]
    tmp = tmp_path_factory.mktemp("phase2")
    server = OpenBao(tmp / "openbao").dev()
    try:
        root = server.root_token or ""
        # What the bootstrap Job's configure step writes; then the token the deployer's login would get.
        server.request("PUT", "sys/policies/acl/deployer", root, {"policy": scripts[jobs.DEPLOYER_POLICY_FILE]})
        deployer = server.request("POST", "auth/token/create-orphan", root, {"policies": ["deployer"], "ttl": "1h"})["auth"]["client_token"]
        for resource in resources:
            apply_resource(server, deployer, resource, tmp)
        stub = TokenReviewStub()
        with stub.running():
            server.request("POST", "auth/kubernetes/config", root, {
                "kubernetes_host": stub.address, "disable_local_ca_jwt": True, "kubernetes_ca_cert": throwaway_ca_pem()})
            yield Applied(stack, server, deployer, resources, stub)
    finally:
        server.stop()


def test_phase_two_applies_completely_with_the_deployers_token(applied: Applied) -> None:
    server, token = applied.server, applied.deployer
    policies = {r["inputs"]["name"] for r in applied.of_type("vault:index/policy:Policy")}
    listed = set(server.request("LIST", "sys/policies/acl", token)["data"]["keys"])
    assert listed == policies | {"default", "root", "deployer"}
    roles = {r["inputs"]["roleName"] for r in applied.of_type(ROLE)}
    assert set(server.request("LIST", "auth/kubernetes/role", token)["data"]["keys"]) == roles
    assert server.request("GET", "sys/mounts/kv", token)["options"] == {"version": "2"}
    assert {"file/", "stdout/"} <= set(server.request("GET", "sys/audit", token)["data"])
    for value in applied.of_type("vault:kv/secretV2:SecretV2"):
        assert server.request("GET", f"kv/data/{value['inputs']['name']}", token)["data"]["data"]["value"]
    assert applied.of_type(AWS_ROLE)  # checked by capabilities (no AWS auth in OpenBao)


@pytest.mark.parametrize(("method", "path", "body"), [
    # Its own policy, rewritten to grant everything with sudo (how a deployer made itself root before).
    ("PUT", "sys/policies/acl/deployer", {"policy": 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }'}),
    # Its own login role and the AWS auth method's configuration (the bootstrap's, not phase 2's).
    ("POST", "auth/aws/role/deployer", {"token_policies": ["deployer", "admin"]}),
    ("POST", "auth/aws/config/client", {"iam_server_id_header_value": "other"}),
    # Another auth method, mount or audit device; a token of its own.
    ("POST", "sys/auth/userpass", {"type": "userpass"}),
    ("DELETE", "sys/auth/token", None),
    ("POST", "sys/mounts/other", {"type": "kv"}),
    ("DELETE", "sys/mounts/secret", None),
    ("PUT", "sys/audit/elsewhere", {"type": "file", "options": {"file_path": "/tmp/x"}}),
    ("DELETE", "sys/audit/stdout/extra", None),
    ("POST", "auth/token/create", {"policies": ["deployer"]}),
    # KV paths phase 2 does not manage; the root-protected rest of sys/.
    ("POST", "kv/destroy/development/api/db-password", {"versions": [1]}),
    ("GET", "sys/raw/core/seal-config", None),
    ("POST", "sys/rotate", None),
    ("GET", "sys/storage/raft/snapshot", None),
])
def test_the_deployer_cannot_escalate(applied: Applied, method: str, path: str, body: Any) -> None:
    assert applied.status(method, path, applied.deployer, body) == 403


def test_the_deployer_holds_sudo_only_where_phase_two_needs_it(applied: Applied) -> None:
    token = applied.deployer
    assert applied.caps(token, "sys/policies/acl/deployer") == {"deny"}
    assert applied.caps(token, "sys/policies/acl/app-development-api") == {"create", "read", "update", "delete"}
    for path in ("sys/raw/x", "sys/seal", "sys/generate-root/attempt", "sys/auth/userpass", "sys/mounts/secret", "sys/leases/revoke-force/x",
                 "sys/policies/acl/root", "auth/aws/role/deployer", "auth/aws/config/client", "auth/token/create"):
        assert applied.caps(token, path) == {"deny"}, path
    sudo = [p for p in ("sys/auth/kubernetes", "sys/auth/kubernetes/tune", "sys/audit", "sys/audit/file", "sys/audit/stdout", "sys/mounts/kv")
            if "sudo" in applied.caps(token, p)]
    assert sudo == ["sys/auth/kubernetes", "sys/auth/kubernetes/tune", "sys/audit", "sys/audit/file", "sys/audit/stdout"]
    # The deployer's own token is unchanged after every attempt above: its policies, nothing more.
    assert applied.server.request("GET", "auth/token/lookup-self", token)["data"]["policies"] == ["default", "deployer"]


def test_kubernetes_login_for_every_role_and_refusals(applied: Applied) -> None:
    roles = applied.of_type(ROLE)
    assert roles
    for role in roles:
        i = role["inputs"]
        [namespace], [account] = i["boundServiceAccountNamespaces"], i["boundServiceAccountNames"]
        auth = applied.login(i["roleName"], namespace, account)
        assert sorted(auth["token_policies"]) == sorted(["default", *i["tokenPolicies"]])
        assert auth["metadata"]["service_account_name"] == account and auth["metadata"]["service_account_namespace"] == namespace
        other_ns = next(r["inputs"]["boundServiceAccountNamespaces"][0] for r in roles
                        if r["inputs"]["boundServiceAccountNamespaces"][0] != namespace)
        for wrong in ((other_ns, account, AUDIENCE), (namespace, f"{account}-other", AUDIENCE), (namespace, account, "sts.amazonaws.com")):
            with pytest.raises(BaoError) as err:
                applied.login(i["roleName"], *wrong)
            assert err.value.status in (400, 403), (i["roleName"], wrong, err.value)
    assert all(review["spec"]["audiences"] == [AUDIENCE] for review in applied.stub.reviews)


def test_every_vault_cell_of_the_access_matrix_holds_on_the_server(applied: Applied) -> None:
    """Each cell of the plan's matrix: the role's token (a real login; the preview's made with its policies) and kv/data/<path>."""
    server = applied.server
    cells = vault_access_matrix(applied.resources, stack_settings(applied.stack))
    assert cells and any(c.allowed for c in cells) and any(not c.allowed for c in cells)
    tokens: dict[str, str] = {}
    for role in applied.of_type(ROLE):
        i = role["inputs"]
        tokens[i["roleName"]] = applied.login(i["roleName"], i["boundServiceAccountNamespaces"][0], i["boundServiceAccountNames"][0])[
            "client_token"]
    for role in applied.of_type(AWS_ROLE):  # substituted: no AWS auth login; a token with the role's policies
        i = role["inputs"]
        tokens[i["role"]] = server.request("POST", "auth/token/create-orphan", server.root_token,
                                           {"policies": i["tokenPolicies"], "ttl": "10m"})["auth"]["client_token"]
    written = {r["inputs"]["name"] for r in applied.of_type("vault:kv/secretV2:SecretV2")}
    for cell in cells:
        token = tokens[cell.via]
        if cell.path.startswith(f"{DATABASE_MOUNT}/"):  # a real read needs PostgreSQL: test_database_engine.py makes it
            assert ("read" in applied.caps(token, cell.path)) is cell.allowed, cell
            continue
        assert ("read" in applied.caps(token, f"kv/data/{cell.path}")) is cell.allowed, cell
        status = applied.status("GET", f"kv/data/{cell.path}", token)
        # Allowed: the value (200), or 404 for an `external` value its owner has not written yet. Denied: 403.
        expected = (200 if cell.path in written else 404) if cell.allowed else 403
        assert status == expected, (cell, status)


@pytest.mark.parametrize("stack", STACKS)
def test_the_recorded_plan_writes_the_deployer_policy_the_builder_makes(recording: Callable[..., Recording], stack: str) -> None:
    settings = stack_settings(stack)
    data = recording(stack).one("kubernetes:core/v1:ConfigMap", "vault-bootstrap-scripts")["inputs"]["data"]
    assert data[jobs.DEPLOYER_POLICY_FILE] == jobs.deployer_policy_hcl("kubernetes", settings.vault.login.mount,
                                                                       settings.vault.login.preview_role)

