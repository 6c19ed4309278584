"""The GitHub Actions workflows: actionlint, and the jobs and steps the CI design relies on (docs/ci.md)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
CHECKS, PULL_REQUEST, DEPLOY = "checks.yml", "pull-request.yml", "deploy.yml"
STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
# GitHub environments (docs/ci.md): each stack's preview runs in `preview-<stack>`, whose rules
# (required reviewers) gate it; the deploy jobs run in `dev` and `production`.
PREVIEW_ENVIRONMENT = "preview-${{ matrix.stack }}"
DEPLOY_ENVIRONMENTS = {"up-dev": "dev", "up-prod": "production"}
SECRET_REF = re.compile(r"\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)|\bsecrets\[")

# Every action the workflows use, pinned by the full commit SHA of a release tag (read from the
# actions' public repositories); the `# vX.Y.Z` comment after the SHA must name that tag.
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "aws-actions/configure-aws-credentials": ("e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>\S+))?\s*$")
LONG_LIVED_KEY_INPUTS = {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"}


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The `on:` block (YAML 1.1 reads the bare key `on` as True)."""
    on = workflow["on"] if "on" in workflow else workflow[True]
    if isinstance(on, dict):
        return on
    return {event: None for event in ([on] if isinstance(on, str) else list(on))}


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def action(step: dict[str, Any]) -> str:
    return str(step.get("uses", "")).split("@")[0]


def steps_using(job: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if action(s) == name]


def run_index(job: dict[str, Any], command: str) -> int:
    """Index of the step whose `run:` is exactly ``command``."""
    found = [i for i, s in enumerate(steps(job)) if str(s.get("run", "")).strip() == command]
    assert len(found) == 1, f"expected one step running `{command}`, found {len(found)}"
    return found[0]


def all_steps() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in workflow_files():
        for job_id, job in (yaml.safe_load(path.read_text()).get("jobs") or {}).items():
            for step in steps(job):
                yield path.name, job_id, step


def pulumi_step(job: dict[str, Any], command: str) -> dict[str, Any]:
    found = [s for s in steps_using(job, "pulumi/actions") if (s.get("with") or {}).get("command") == command]
    assert len(found) == 1, f"expected one pulumi/actions step with command {command}, found {len(found)}"
    return found[0]


def actionlint() -> str:
    exe = Path(sys.executable).parent / "actionlint"
    found = str(exe) if exe.exists() else shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: `make venv` installs it (requirements-dev.txt)")
    return found


def run_actionlint(cwd: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    # shellcheck from the same virtualenv checks the run: scripts (actionlint finds it on PATH).
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [actionlint(), "-no-color", *[str(f.relative_to(cwd)) for f in files]],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )


# --- actionlint ---------------------------------------------------------------------------------


def test_actionlint_passes_on_every_workflow() -> None:
    files = workflow_files()
    assert {f.name for f in files} >= {CHECKS, PULL_REQUEST, DEPLOY}
    result = run_actionlint(ROOT, files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_checks_action_inputs_at_the_pinned_major_versions(tmp_path: Path) -> None:
    """actionlint knows popular actions' inputs by major tag (`pulumi/actions@v7`), not by SHA:
    lint a copy with each SHA replaced by its tag's major version, so a misspelt input fails."""
    shutil.copytree(WORKFLOWS, tmp_path / ".github" / "workflows")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for path in (tmp_path / ".github" / "workflows").glob("*.yml"):
        text = path.read_text()
        for name, (sha, tag) in PINS.items():
            text = text.replace(f"{name}@{sha}", f"{name}@{tag.split('.')[0]}")
        path.write_text(text)
    result = run_actionlint(tmp_path, sorted((tmp_path / ".github" / "workflows").glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_misspelt_pulumi_input(tmp_path: Path) -> None:
    """The check above is not vacuous: actionlint knows pulumi/actions@v7's inputs."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (workflows / "bad.yml").write_text(
        "on: pull_request\njobs:\n  p:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: pulumi/actions@v7\n        with:\n          command: preview\n          policyPack: policies\n"
    )
    result = run_actionlint(tmp_path, [workflows / "bad.yml"])
    assert result.returncode != 0
    assert 'input "policyPack" is not defined' in result.stdout


# --- pins ---------------------------------------------------------------------------------------


def test_every_action_is_pinned_by_commit_sha_with_its_tag() -> None:
    seen = set()
    for path in workflow_files():
        for line in path.read_text().splitlines():
            m = USES.match(line)
            if not m:
                continue
            ref = m["ref"]
            if ref.startswith("./"):
                assert (ROOT / ref).is_file(), f"{path.name}: local workflow {ref} does not exist"
                continue
            name, _, version = ref.partition("@")
            assert name in PINS, f"{path.name}: {name} is not in the reviewed pins (tests/test_workflows.py PINS)"
            sha, tag = PINS[name]
            assert version == sha, f"{path.name}: {name}@{version} is not pinned to the reviewed SHA {sha} ({tag})"
            assert m["comment"] == tag, f"{path.name}: {name}@{sha} must carry the comment `# {tag}`"
            seen.add(name)
    assert seen == set(PINS), f"pins no workflow uses: {sorted(set(PINS) - seen)}"


def test_the_pulumi_cli_matches_the_sdk_pin() -> None:
    sdk = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert sdk is not None
    versions = {
        (s.get("with") or {}).get("pulumi-version") for _, _, s in all_steps() if action(s) == "pulumi/actions"
    }
    assert versions == {sdk[1]}, f"every pulumi/actions step pins pulumi-version {sdk[1]} (requirements.txt): {versions}"


# --- checks.yml ---------------------------------------------------------------------------------


def test_checks_install_test_plan_upload_lint_and_typecheck() -> None:
    workflow = load(CHECKS)
    assert set(triggers(workflow)) == {"workflow_call"}
    job = workflow["jobs"]["checks"]
    assert steps_using(job, "actions/checkout")
    setup = steps_using(job, "actions/setup-python")
    assert len(setup) == 1 and str(setup[0]["with"]["python-version"]) == "3.11"
    checkov, test, plans, lint, types = (
        run_index(job, c) for c in ("make checkov-venv", "make test", "make plans", "make lint", "make typecheck")
    )
    assert checkov < test, "checkov is installed before the tests, so its tests run instead of skipping"
    uploads = steps_using(job, "actions/upload-artifact")
    assert len(uploads) == 1
    upload = uploads[0]
    assert upload["with"]["path"] == "build/plan" and upload["with"]["if-no-files-found"] == "error"
    assert test < plans < steps(job).index(upload) < lint
    assert lint < types


def test_make_plans_renders_every_stack_and_phase() -> None:
    """The workflow runs `make plans`; that target must cover every stack file, both phases."""
    makefile = (ROOT / "Makefile").read_text()
    body = makefile.split("\nplans:", 1)[1].split("\n\n", 1)[0]
    for stack in STACKS:
        assert f"--stack {stack}\n" in body + "\n", f"make plans does not render {stack}"
        assert f"--stack {stack} --phase 1" in body, f"make plans does not render {stack} phase 1"


def test_make_lint_runs_the_scans() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lint: .*\bruff\b.*\bscan\b", makefile, re.M)
    assert re.search(r"^scan: .*\bactionlint\b.*\bsecrets-scan\b.*\bcheckov\b", makefile, re.M)
    assert "tools.secret_scan" in makefile and "tools.checkov_scan" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    for target in ("make test", "make plans", "make lint", "make typecheck"):
        assert re.search(rf"^{target}$", ci, re.M), f".ci/run must run `{target}`"
    assert "set -euo pipefail" in ci
    assert ci.index("make checkov-venv") < ci.index("make test")


# --- pull-request.yml ---------------------------------------------------------------------------


def test_pull_requests_run_the_checks_then_preview_every_stack() -> None:
    workflow = load(PULL_REQUEST)
    on = triggers(workflow)
    assert set(on) == {"pull_request"}
    jobs = workflow["jobs"]
    assert jobs["checks"]["uses"] == "./.github/workflows/checks.yml"
    preview = jobs["preview"]
    assert preview["needs"] == "checks" or preview["needs"] == ["checks"]
    matrix = preview["strategy"]["matrix"]
    stacks = matrix.get("stack") or [entry["stack"] for entry in matrix["include"]]
    assert sorted(stacks) == STACKS == ["dev", "prod"]
    assert preview["strategy"]["fail-fast"] is False


def test_preview_permissions_are_exactly_oidc_read_and_pr_comments() -> None:
    workflow = load(PULL_REQUEST)
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["jobs"]["preview"]["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}


def test_preview_runs_pulumi_preview_with_the_policy_pack_and_comments() -> None:
    preview = load(PULL_REQUEST)["jobs"]["preview"]
    step = pulumi_step(preview, "preview")
    inputs = step["with"]
    assert "${{ matrix.stack }}" in inputs["stack-name"]
    assert inputs["work-dir"] == "."
    assert inputs["comment-on-pr"] is True
    assert inputs["policyPacks"] == "policies"
    assert (ROOT / inputs["work-dir"] / inputs["policyPacks"] / "PulumiPolicy.yaml").is_file()
    assert inputs.get("refresh", False) is False, "a refresh would read SecretVersion values (docs/ci.md)"
    assert not any((s.get("with") or {}).get("command") in {"up", "update", "destroy", "refresh"} for s in steps(preview))
    assert preview["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"


def test_preview_assumes_the_read_only_role_by_oidc_before_pulumi() -> None:
    preview = load(PULL_REQUEST)["jobs"]["preview"]
    creds = steps_using(preview, "aws-actions/configure-aws-credentials")
    assert len(creds) == 1
    # The preview environment's own variable: preview-dev and preview-prod each name their account's
    # preview role, as dev and production name their deployer (never the deployer's variable).
    assert creds[0]["with"]["role-to-assume"] == "${{ vars.PULUMI_PREVIEW_ROLE_ARN }}"
    assert "DEPLOY" not in creds[0]["with"]["role-to-assume"], "previews never use the deployer role"
    assert steps(preview).index(creds[0]) < steps(preview).index(pulumi_step(preview, "preview"))


def test_each_stack_previews_in_its_own_preview_environment() -> None:
    """The environment's protection rules gate the job before it starts, so before it gets the OIDC
    token (`sub` = `repo:<org>/<repo>:environment:preview-<stack>`, the only subject that stack's
    preview role trusts) and the environment's PULUMI_ACCESS_TOKEN (docs/ci.md)."""
    preview = load(PULL_REQUEST)["jobs"]["preview"]
    assert preview.get("environment") == PREVIEW_ENVIRONMENT, "each stack previews in its own environment, preview-<stack>"
    matrix = preview["strategy"]["matrix"]
    assert set(matrix) == {"stack"}, "the stack alone picks the environment, hence the role and the token"
    environments = {PREVIEW_ENVIRONMENT.replace("${{ matrix.stack }}", stack) for stack in matrix["stack"]}
    assert environments == {"preview-dev", "preview-prod"}
    assert not environments & set(DEPLOY_ENVIRONMENTS.values()), "a preview never runs in a deploy environment"


def test_pull_request_concurrency_is_per_pull_request_and_cancels() -> None:
    workflow = load(PULL_REQUEST)
    assert workflow["concurrency"] == {
        "group": "pull-request-${{ github.event.pull_request.number }}",
        "cancel-in-progress": True,
    }


def test_fork_pull_requests_skip_the_preview() -> None:
    preview = load(PULL_REQUEST)["jobs"]["preview"]
    assert preview["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


# --- deploy.yml ---------------------------------------------------------------------------------


def test_deploy_runs_only_on_pushes_to_main() -> None:
    workflow = load(DEPLOY)
    on = triggers(workflow)
    assert set(on) == {"push"}
    assert on["push"] == {"branches": ["main"]}
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["jobs"]["checks"]["uses"] == "./.github/workflows/checks.yml"


def test_dev_is_deployed_automatically_after_the_checks() -> None:
    job = load(DEPLOY)["jobs"]["up-dev"]
    assert job["needs"] in ("checks", ["checks"])
    assert job["environment"] == "dev"
    step = pulumi_step(job, "up")
    assert step["with"]["stack-name"].endswith("/dev")
    assert step["with"]["policyPacks"] == "policies"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_prod_waits_for_dev_and_for_approval_in_the_production_environment() -> None:
    jobs = load(DEPLOY)["jobs"]
    job = jobs["up-prod"]
    assert job["needs"] in ("up-dev", ["up-dev"])
    assert job["environment"] == "production"
    step = pulumi_step(job, "up")
    assert step["with"]["stack-name"].endswith("/prod")
    assert step["with"]["policyPacks"] == "policies"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    ups = [j for j in jobs.values() if any((s.get("with") or {}).get("command") == "up" for s in steps(j))]
    assert len(ups) == 2, "exactly two jobs run pulumi up: dev, then prod"


def test_the_deploy_jobs_keep_their_environments() -> None:
    jobs = load(DEPLOY)["jobs"]
    assert {job_id: job["environment"] for job_id, job in jobs.items() if "environment" in job} == DEPLOY_ENVIRONMENTS


def test_deployers_come_from_environment_variables_not_the_preview_roles() -> None:
    jobs = load(DEPLOY)["jobs"]
    for job_id in ("up-dev", "up-prod"):
        creds = steps_using(jobs[job_id], "aws-actions/configure-aws-credentials")
        assert len(creds) == 1
        assert creds[0]["with"]["role-to-assume"] == "${{ vars.PULUMI_DEPLOY_ROLE_ARN }}"
        assert steps(jobs[job_id]).index(creds[0]) < steps(jobs[job_id]).index(pulumi_step(jobs[job_id], "up"))


# --- every workflow -----------------------------------------------------------------------------


def test_no_long_lived_aws_keys_anywhere() -> None:
    for path in workflow_files():
        text = path.read_text()
        for name in ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"):
            assert name not in text, f"{path.name} mentions {name}"
        assert "arn:aws:iam::" not in text, f"{path.name} hard-codes a role ARN"
    for file, job_id, step in all_steps():
        inputs = set(step.get("with") or {})
        assert not inputs & LONG_LIVED_KEY_INPUTS, f"{file} {job_id}: long-lived key inputs {inputs & LONG_LIVED_KEY_INPUTS}"
        if action(step) == "aws-actions/configure-aws-credentials":
            assert "role-to-assume" in inputs, f"{file} {job_id}: credentials must come from an OIDC role"


def test_jobs_that_assume_roles_have_oidc_and_the_rest_do_not() -> None:
    for path in workflow_files():
        workflow = yaml.safe_load(path.read_text())
        top = workflow.get("permissions")
        assert top == {"contents": "read"}, f"{path.name}: top-level permissions must be contents: read"
        for job_id, job in workflow["jobs"].items():
            assumes = bool(steps_using(job, "aws-actions/configure-aws-credentials"))
            perms = job.get("permissions", top) or {}
            assert (perms.get("id-token") == "write") == assumes, f"{path.name} {job_id}: id-token: write iff it assumes a role"


def test_secrets_reach_only_jobs_in_an_environment() -> None:
    """PULUMI_ACCESS_TOKEN decrypts state (docs/ci.md): it is an environment secret of preview-dev,
    preview-prod, dev and production only, and only jobs naming one of those read it. A job without
    an environment, or a workflow-level `env:`, reading a secret would need a repository secret,
    which a pull request could reach by dropping `environment:` from its copy of the workflow."""
    readers = {}
    for path in workflow_files():
        workflow = yaml.safe_load(path.read_text())
        assert not SECRET_REF.search(yaml.safe_dump(workflow.get("env") or {})), f"{path.name}: workflow-level env reads a secret"
        for job_id, job in workflow["jobs"].items():
            if "uses" in job:
                assert "secrets" not in job, f"{path.name} {job_id}: a reusable workflow gets no secrets (no `secrets: inherit`)"
            names = {m[1] or "secrets[...]" for m in SECRET_REF.finditer(yaml.safe_dump(job))}
            if names:
                assert names == {"PULUMI_ACCESS_TOKEN"}, f"{path.name} {job_id}: secrets other than the Pulumi token: {names}"
                assert job.get("environment"), f"{path.name} {job_id} reads {names} outside an environment"
                readers[(path.name, job_id)] = job["environment"]
    assert readers == {
        (PULL_REQUEST, "preview"): PREVIEW_ENVIRONMENT,
        (DEPLOY, "up-dev"): "dev",
        (DEPLOY, "up-prod"): "production",
    }
    assert not SECRET_REF.search(yaml.safe_dump(load(CHECKS))), "the checks run without secrets"


def test_the_docs_trust_policies_pin_the_environments() -> None:
    """docs/ci.md's trust-policy table: every role trusts exactly one environment's subject, the
    preview roles their stack's preview environment, no longer `:pull_request`."""
    docs = (ROOT / "docs" / "ci.md").read_text()
    table = docs.split("| role | `sub` it trusts |", 1)[1].split("\n\n", 1)[0]
    subjects = re.findall(r"`(repo:<org>/<repo>:[^`]+)`", table)
    assert subjects == [
        "repo:<org>/<repo>:environment:preview-dev",
        "repo:<org>/<repo>:environment:preview-prod",
        "repo:<org>/<repo>:environment:dev",
        "repo:<org>/<repo>:environment:production",
    ]
    for environment in ("preview-dev", "preview-prod", "dev", "production"):
        assert f"| environment `{environment}` | secret `PULUMI_ACCESS_TOKEN`" in docs, f"docs/ci.md settings: {environment}"
    assert "| secret | `PULUMI_ACCESS_TOKEN`" not in docs, "the Pulumi token is not a repository secret"


def test_checkouts_do_not_keep_the_token() -> None:
    for file, job_id, step in all_steps():
        if action(step) == "actions/checkout":
            assert step["with"]["persist-credentials"] is False, f"{file} {job_id}"
