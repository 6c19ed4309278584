"""VaultConfig: policies as a spec, roles, KV values, and every cell of the Vault access matrix."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace

import hcl2
import pytest
from pulumi.runtime.mocks import MockCallArgs

from components.vault import jobs
from components.vault_config import login_role_for
from components.vault_policies import KV_MOUNT, app_policy, eso_policy, preview_policy, snapshot_policy
from planner.access_matrix import write_access_matrix
from planner.mocks import SECRET, MockIdentity, PlanMocks, session_arn
from planner.run import Recording, identity_from_config, run_program
from planner.stackfile import read_stack
from planner.vault_access import allowed_capabilities, can_read, parse_policy, vault_access_matrix
from tests.conftest import ROOT, STACKS, stack_config_objects, stack_input_from_objects, stack_settings

POLICY = "vault:index/policy:Policy"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
AWS_ROLE = "vault:aws/authBackendRole:AuthBackendRole"
KV_SECRET = "vault:kv/secretV2:SecretV2"
WRITE_CAPS = {"create", "update", "patch", "delete", "sudo"}


def vault_apps(stack: str) -> dict[str, list[dict]]:
    """env -> apps with at least one Vault-backed secret, from the stack file."""
    return {
        env: [a for a in cfg["apps"] if any(s["backend"] == "vault" for s in a["secrets"])]
        for env, cfg in stack_config_objects(stack)["platform:environments"].items()
    }


def vault_paths(stack: str) -> set[str]:
    return {f"{env}/{a['name']}/{s['key']}" for env, apps in vault_apps(stack).items() for a in apps
            for s in a["secrets"] if s["backend"] == "vault"}


def matrix_paths(stack: str) -> set[str]:
    """The Vault matrix's paths: every KV value and every declared database's `database/creds/<env>-<app>`."""
    environments = stack_config_objects(stack)["platform:environments"]
    creds = {f"database/creds/{env}-{a['name']}" for env, cfg in environments.items() for a in cfg["apps"] if "database" in a}
    return vault_paths(stack) | creds


def _owner(path: str) -> tuple[str, str]:
    """(environment, app) a KV path `<env>/<app>/<key>` or a creds path `database/creds/<env>-<app>` belongs to."""
    if path.startswith("database/creds/"):
        env, app = path.removeprefix("database/creds/").split("-", 1)
        return env, app
    env, app, _ = path.split("/")
    return env, app


# --- policies as a spec -------------------------------------------------------------

def test_app_policy_reads_exactly_its_own_paths() -> None:
    text = app_policy("staging", "api").hcl()
    parsed = hcl2.loads(text)
    assert [list(block) for block in parsed["path"]] == [['"kv/data/staging/api/*"'], ['"kv/metadata/staging/api/*"']]
    rules = parse_policy(text)
    assert rules == {"kv/data/staging/api/*": frozenset({"read"}), "kv/metadata/staging/api/*": frozenset({"read", "list"})}


def test_prefix_named_sibling_is_out_of_reach() -> None:
    api = parse_policy(app_policy("staging", "api").hcl())
    assert can_read([api], "staging/api/db-password")
    assert not can_read([api], "staging/api-admin/session-secret")
    assert not can_read([api], "staging/api")
    assert not can_read([api], "production/api/db-password")


def test_eso_policy_reads_one_environment_and_never_writes() -> None:
    rules = parse_policy(eso_policy("staging").hcl())
    assert rules == {"kv/data/staging/*": frozenset({"read"}), "kv/metadata/staging/*": frozenset({"read", "list"})}
    assert can_read([rules], "staging/api-admin/session-secret")
    assert not can_read([rules], "development/api/db-password")
    assert not can_read([rules], "stagingx/api/db-password")


def test_snapshot_policy_is_snapshot_read_only_without_sudo() -> None:
    assert parse_policy(snapshot_policy().hcl()) == {"sys/storage/raft/snapshot": frozenset({"read"})}


def test_preview_policy_grants_nothing_and_denies_the_kv_mount_and_sys() -> None:
    rules = parse_policy(preview_policy().hcl())
    assert rules == {"kv/*": frozenset({"deny"}), "database/*": frozenset({"deny"}), "sys/*": frozenset({"deny"})}
    # Merged into a token whose other policy grants the same (or a broader) pattern, deny still wins.
    grant = {"kv/*": frozenset({"read", "list"}), "sys/*": frozenset({"read", "sudo"}), "k*": frozenset({"read"}),
             "database/*": frozenset({"read"})}
    for path in ("kv/data/production/api/db-password", "kv/metadata/staging/api", "kv/config", "sys/policies/acl/deployer",
                 "sys/storage/raft/snapshot", "sys/raw/logical", "database/creds/production-payments"):
        assert allowed_capabilities([rules, grant], path) == frozenset(), path
    # The token's self-lookup (Vault's `default` policy) is untouched.
    assert allowed_capabilities([rules, {"auth/token/lookup-self": frozenset({"read"})}], "auth/token/lookup-self") == {"read"}


# --- the evaluator follows Vault's documented matching -------------------------------------

@pytest.mark.parametrize(("rules", "path", "expected"), [
    ({"secret/foo": {"read"}}, "secret/foo", {"read"}),
    ({"secret/foo": {"read"}}, "secret/foo/bar", set()),  # exact paths are exact
    ({"secret/*": {"read"}}, "secret/foo/bar", {"read"}),  # a glob is a prefix
    ({"secret/*": {"read"}, "secret/foo": {"deny"}}, "secret/foo", set()),  # the exact path wins, deny
    ({"secret/+/bar": {"list"}}, "secret/x/bar", {"list"}),  # + is one segment
    ({"secret/+/bar": {"list"}}, "secret/x/y/bar", set()),
    ({"secret/x/*": {"read"}, "secret/+/bar": {"list"}}, "secret/x/bar", {"read"}),  # an earlier wildcard loses
    ({"secret/*": {"read"}, "secret/+/bar": {"list"}}, "secret/x/bar", {"list"}),  # a trailing glob loses a tie
    ({"secret/a*": {"read"}, "secret/ab*": {"list"}}, "secret/abc", {"list"}),  # longer glob wins
])
def test_vault_acl_matching(rules: dict[str, set[str]], path: str, expected: set[str]) -> None:
    assert allowed_capabilities([{p: frozenset(c) for p, c in rules.items()}], path) == frozenset(expected)


def test_policies_of_one_token_merge_per_path() -> None:
    a = {"kv/data/x/*": frozenset({"read"})}
    b = {"kv/data/x/*": frozenset({"list"})}
    assert allowed_capabilities([a, b], "kv/data/x/y") == {"read", "list"}


# --- what the program registers ----------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_every_policy_parses_and_grants_no_write_or_sudo(recording: Callable[..., Recording], stack: str) -> None:
    policies = recording(stack).by_type(POLICY)
    envs = stack_config_objects(stack)["platform:environments"]
    apps = sum(len(cfg["apps"]) for cfg in envs.values())
    assert len(policies) == apps + len(envs) + 1 + 1 + 1  # apps, env stores, the platform store, snapshots, previews
    for p in policies:
        for path, caps in parse_policy(p["inputs"]["policy"]).items():
            assert not caps & WRITE_CAPS, (p["inputs"]["name"], path)
            if path.startswith(f"{KV_MOUNT}/") and "deny" not in caps:  # a deny grants nothing (the preview's kv/*)
                assert "*" not in path.split("/")[2], path  # never a glob across environments


@pytest.mark.parametrize("stack", STACKS)
def test_roles_bind_one_service_account_in_one_namespace(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    settings = stack_settings(stack)
    roles = {r["inputs"]["roleName"]: r["inputs"] for r in rec.by_type(ROLE)}
    for env, cfg in settings.environments.items():
        for app in cfg.apps:
            role = roles[f"{env}-{app.name}"]
            assert role["boundServiceAccountNames"] == [app.service_account_name]
            assert role["boundServiceAccountNamespaces"] == [env]
            assert role["tokenPolicies"] == [f"app-{env}-{app.name}"]
    for scope in [*settings.environments, "platform"]:
        role = roles[f"eso-{scope}"]
        assert role["boundServiceAccountNames"] == [f"eso-{scope}-vault"]
        assert role["boundServiceAccountNamespaces"] == ["external-secrets"]
        assert role["tokenPolicies"] == [f"eso-{scope}"]
    for role in roles.values():
        assert role["audience"] == "vault"
        assert role["tokenTtl"] == settings.vault.token_ttl_seconds
        assert role["tokenMaxTtl"] == settings.vault.token_max_ttl_seconds
        assert "*" not in role["boundServiceAccountNames"] + role["boundServiceAccountNamespaces"]


@pytest.mark.parametrize("stack", STACKS)
def test_managed_values_are_secret_and_external_ones_have_no_kv_resource(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    secrets = {r["inputs"]["name"]: r for r in rec.by_type(KV_SECRET)}
    external = {p for p in vault_paths(stack) if _source(stack, p) == "external"}
    assert external and set(secrets) == vault_paths(stack) - external
    for secret in secrets.values():
        assert secret["inputs"]["dataJson"] == SECRET
        assert secret["inputs"]["mount"] == KV_MOUNT


def _source(stack: str, path: str) -> str:
    env, app, key = path.split("/")
    apps = stack_config_objects(stack)["platform:environments"][env]["apps"]
    return next(s["source"] for a in apps if a["name"] == app for s in a["secrets"] if s["key"] == key)


def _login(rec: Recording) -> dict:
    auth = rec.one("pulumi:providers:vault", "vault")["inputs"]["authLoginAws"]
    return auth if isinstance(auth, dict) else json.loads(auth)


@pytest.mark.parametrize("stack", STACKS)
def test_provider_logs_in_with_aws_auth_and_holds_no_token(recording: Callable[..., Recording], stack: str) -> None:
    provider = recording(stack).one("pulumi:providers:vault", "vault")["inputs"]
    login = stack_settings(stack).vault.login
    assert "token" not in provider
    assert provider["skipChildToken"] in (True, "true")
    auth = _login(recording(stack))
    assert auth["role"] == "deployer"  # the plan runs as a session of the stack's deployer role, as `pulumi up` does
    assert auth["mount"] == login.mount and auth["headerValue"] == login.iam_server_id_header
    assert provider["address"].startswith("https://")


@pytest.mark.parametrize("stack", STACKS)
def test_run_as_the_preview_role_logs_in_with_the_preview_role(recording: Callable[..., Recording], stack: str) -> None:
    stack_input = read_stack(ROOT, stack)
    preview = stack_settings(stack).vault.preview_role_arns[0]
    rec = run_program(stack_input, identity=replace(identity_from_config(stack_input), caller_arn=session_arn(preview, "gha-42")))
    assert _login(rec) == {**_login(recording(stack)), "role": "preview"}
    as_deployer = {r["urn"]: r for r in recording(stack).resources}
    assert [r["name"] for r in rec.resources if r != as_deployer[r["urn"]]] == ["vault"]  # only the provider's login differs


def test_the_plans_caller_is_a_session_of_the_first_deployer_role(edited_config: Callable[[str], dict]) -> None:
    assert identity_from_config(read_stack(ROOT, "prod")).caller_arn == "arn:aws:sts::222222222222:assumed-role/platform-deployer/pulumi"
    config = edited_config("dev")
    del config["platform:vault"]["deployerRoleArns"]  # then the deployers are the administrators
    config["platform:aws"]["adminRoleArns"] = ["arn:aws:iam::111111111111:role/ops/platform-break-glass",
                                               "arn:aws:iam::111111111111:role/platform-deployer"]
    identity = identity_from_config(stack_input_from_objects("dev", config))
    assert identity.caller_arn == "arn:aws:sts::111111111111:assumed-role/platform-break-glass/pulumi"


def test_the_mocks_answer_who_runs_the_program() -> None:
    caller = session_arn("arn:aws:iam::111111111111:role/ci/platform-preview", "gha-42")
    assert caller == "arn:aws:sts::111111111111:assumed-role/platform-preview/gha-42"
    answer, _ = PlanMocks(MockIdentity(caller_arn=caller)).call(
        MockCallArgs(token="aws:index/getCallerIdentity:getCallerIdentity", args={}, provider=""))
    assert (answer["arn"], answer["accountId"]) == (caller, "111111111111") and answer["userId"].endswith(":gha-42")
    with pytest.raises(ValueError, match="not an IAM role ARN"):
        session_arn("arn:aws:iam::111111111111:user/bob")


# --- who logs in as what: the caller's ARN against the preview roles -------------------------------

PREVIEWS = ["arn:aws:iam::111111111111:role/platform-preview", "arn:aws-us-gov:iam::333333333333:role/ci/gov-preview"]


@pytest.mark.parametrize(("caller", "expected"), [
    ("arn:aws:sts::111111111111:assumed-role/platform-preview/gha-run-7", "preview"),
    ("arn:aws:iam::111111111111:role/platform-preview", "preview"),
    # The assumed-role ARN drops the IAM path: the role name and account decide.
    ("arn:aws-us-gov:sts::333333333333:assumed-role/gov-preview/session", "preview"),
    ("arn:aws-us-gov:iam::333333333333:role/ci/gov-preview", "preview"),
    ("arn:aws:sts::111111111111:assumed-role/platform-deployer/pulumi", "deployer"),
    ("arn:aws:sts::999999999999:assumed-role/platform-preview/gha", "deployer"),  # same name, another account
    ("arn:aws:sts::333333333333:assumed-role/gov-preview/session", "deployer"),  # same account and name, another partition
    ("arn:aws:sts::111111111111:assumed-role/platform-preview-2/gha", "deployer"),  # a prefix-named sibling
    ("arn:aws:iam::111111111111:user/platform-preview", "deployer"),
    ("arn:aws:sts::111111111111:federated-user/platform-preview", "deployer"),
    ("arn:aws:sts::111111111111:assumed-role/platform-preview", "deployer"),  # malformed: no session
    ("not-an-arn", "deployer"),
    ("", "deployer"),
])
def test_login_role_follows_the_caller(caller: str, expected: str) -> None:
    assert login_role_for(caller, PREVIEWS, "deployer", "preview") == expected


def test_without_preview_roles_everyone_logs_in_as_the_deployer() -> None:
    assert login_role_for("arn:aws:sts::111111111111:assumed-role/platform-preview/gha", [], "deploy-ci", "preview") == "deploy-ci"
    # Neither an unparsable caller nor an unparsable preview entry matches anything.
    assert login_role_for("not-an-arn", ["arn:aws:iam::111111111111:role/ci/"], "deployer", "preview") == "deployer"


@pytest.mark.parametrize("stack", STACKS)
def test_every_cell_of_the_vault_matrix(recording: Callable[..., Recording], stack: str) -> None:
    settings = stack_settings(stack)
    cells = vault_access_matrix(recording(stack).resources, settings)
    paths = matrix_paths(stack)
    assert {c.path for c in cells} == paths and any(p.startswith("database/creds/") for p in paths)
    principals = {c.via for c in cells}
    expected_roles = {f"{env}-{a.name}" for env, cfg in settings.environments.items() for a in cfg.apps}
    expected_roles |= {f"eso-{s}" for s in [*settings.environments, "platform"]} | {"vault-snapshot", "preview"}
    assert principals == expected_roles
    for cell in cells:
        env, app = _owner(cell.path)
        if cell.via.startswith("eso-"):
            # A store reads its environment's values; database users come from the app's own role (docs/databases.md).
            expected = cell.via == f"eso-{env}" and not cell.path.startswith("database/")
        elif cell.via in ("vault-snapshot", "preview"):
            expected = False
        else:
            expected = cell.via == f"{env}-{app}"
        assert cell.allowed is expected, cell


# --- the preview identity reads no secret path --------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_the_preview_identity_reads_no_vault_path(recording: Callable[..., Recording], stack: str) -> None:
    settings = stack_settings(stack)
    rec = recording(stack)
    cells = [c for c in vault_access_matrix(rec.resources, settings) if c.via == "preview"]
    account = {"dev": "111111111111", "prod": "222222222222"}[stack]
    assert {c.principal for c in cells} == {f"arn:aws:iam::{account}:role/platform-preview"}
    assert {c.path for c in cells} == matrix_paths(stack) and len(cells) == len(matrix_paths(stack))
    assert not any(c.allowed for c in cells)
    section = write_access_matrix(rec.resources, settings)["access-matrix.md"].split("## vault\n", 1)[1].split("\n## ", 1)[0]
    header, _, *rows = [line.strip("|").split(" | ") for line in section.strip().splitlines()]
    column = [h.strip() for h in header].index(f"arn:aws:iam::{account}:role/platform-preview via preview")
    assert sorted(row[0].strip(" `") for row in rows) == sorted(matrix_paths(stack))
    assert {row[column].strip() for row in rows} == {"no"}


def test_the_preview_cells_come_from_the_registered_role_and_policies(recording: Callable[..., Recording]) -> None:
    """Swap the deployer's policy in as the preview role's token policy: its cells turn to yes, so they are evaluated, not assumed."""
    settings = stack_settings("dev")
    resources = copy.deepcopy(recording("dev").resources)
    [role] = [r for r in resources if r["type"] == AWS_ROLE]
    scripts = next(r for r in resources if r["type"] == "kubernetes:core/v1:ConfigMap" and r["name"] == "vault-bootstrap-scripts")
    resources.append({"type": POLICY, "name": "deployer",
                      "inputs": {"name": "deployer", "policy": scripts["inputs"]["data"][jobs.DEPLOYER_POLICY_FILE]}})
    role["inputs"]["tokenPolicies"] = ["deployer"]
    cells = [c for c in vault_access_matrix(resources, settings) if c.via == "preview"]
    # The deployer writes every value but mints no database user.
    assert {c.path for c in cells if c.allowed} == vault_paths("dev")
    # One environment's store policy instead: exactly that environment's paths.
    role["inputs"]["tokenPolicies"] = ["eso-development"]
    cells = [c for c in vault_access_matrix(resources, settings) if c.via == "preview"]
    assert {c.path for c in cells if c.allowed} == {p for p in vault_paths("dev") if p.startswith("development/")}
    # The preview policy's text, not its name, decides: granted, it opens every path.
    role["inputs"]["tokenPolicies"] = ["preview"]
    [preview] = [r for r in resources if r["type"] == POLICY and r["inputs"]["name"] == "preview"]
    preview["inputs"]["policy"] = 'path "kv/data/*" { capabilities = ["read"] }\npath "database/creds/*" { capabilities = ["read"] }'
    assert all(c.allowed for c in vault_access_matrix(resources, settings) if c.via == "preview")


# --- the preview's login, managed by VaultConfig ------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_the_preview_login_is_an_aws_auth_role_bound_to_the_preview_roles(recording: Callable[..., Recording], stack: str) -> None:
    rec = recording(stack)
    vault_cfg = stack_settings(stack).vault
    [role] = rec.by_type(AWS_ROLE)
    assert role["inputs"] == {
        "backend": vault_cfg.login.mount,
        "role": vault_cfg.login.preview_role,
        "authType": "iam",
        "boundIamPrincipalArns": sorted(vault_cfg.preview_role_arns),
        "resolveAwsUniqueIds": True,
        "tokenPolicies": ["preview"],
        "tokenTtl": 900,
        "tokenMaxTtl": 3600,
    }
    policy = rec.one(POLICY, "preview")
    assert policy["inputs"] == {"name": "preview", "policy": preview_policy().hcl()}
    # Vault resolves the bound roles with iam:GetRole, which the server's IAM policy grants (same `up`).
    server_iam = [r for r in rec.by_type("aws:iam/rolePolicy:RolePolicy") if "GetRole" in json.dumps(r["inputs"])]
    assert [r["name"] for r in server_iam] == ["vault-server"]
    assert role["dependencies"] == sorted([policy["urn"], server_iam[0]["urn"]])
    assert role["provider"] == policy["provider"] == rec.one("pulumi:providers:vault", "vault")["urn"]
    # The bootstrap Job writes the deployer's login only.
    assert "preview" not in json.dumps(rec.one("kubernetes:batch/v1:Job", "vault-bootstrap")["inputs"])


def test_without_preview_roles_no_aws_auth_role_is_registered(edited_config: Callable[[str], dict]) -> None:
    """An empty vault.previewRoleArns registers no role: Pulumi deletes one an earlier `up` created."""
    config = edited_config("dev")
    config["platform:vault"]["previewRoleArns"] = []
    rec = run_program(stack_input_from_objects("dev", config))
    assert rec.by_type(AWS_ROLE) == []
    assert rec.one(POLICY, "preview")["inputs"]["policy"] == preview_policy().hcl()  # grants nothing, handed out by no role
    assert _login(rec)["role"] == "deployer"
    assert not [c for c in vault_access_matrix(rec.resources, stack_settings("dev", vault=config["platform:vault"]))
                if c.via == "preview"]


def test_phase_one_has_no_vault_login_of_its_own(recording: Callable[..., Recording]) -> None:
    """Phase 1 registers nothing inside Vault: no AWS auth role, no policy, no access-matrix row for Vault."""
    rec = recording("dev", 1)
    assert rec.by_type(AWS_ROLE) == [] and rec.by_type(POLICY) == []
    assert vault_access_matrix(rec.resources, stack_settings("dev")) == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_kv_mount_is_protected_exactly_when_the_stack_protects_state(recording: Callable[..., Recording], stack: str) -> None:
    """Disabling the mount deletes every value in it: production's must survive a stray destroy or rename."""
    mount = recording(stack).one("vault:index/mount:Mount", "kv")
    assert mount["inputs"]["path"] == KV_MOUNT
    assert mount["protect"] is stack_settings(stack).protect_stateful
