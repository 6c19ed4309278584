"""Argo CD's own secrets, as ExternalSecrets through the ``platform`` store (pure).

The program registers these three in ``argocd`` (the apps' ExternalSecrets live in the
GitOps tree instead). Each reads one value of the ``platform`` scope,
``platform/argocd/<key>`` in AWS Secrets Manager, through the ``platform-aws``
ClusterSecretStore (which serves the ``argocd`` namespace only), with the same builder as the
apps' ExternalSecrets. Their owners write the values (source ``external``): nothing here
ever holds one.

* ``argocd-repo-gitops``: a repository Secret (label ``argocd.argoproj.io/secret-type:
  repository``) for the GitOps repository: ``type``/``url`` and the credential as the https
  ``password`` (with ``argocd.repoUsername``) or, for an SSH URL, ``sshPrivateKey``.
* ``argocd-oidc``: ``clientSecret``, labelled ``app.kubernetes.io/part-of: argocd`` so that
  argocd-cm's ``$argocd-oidc:clientSecret`` resolves.
* ``argocd-notifications-secret``: ``slack-token``, read by the Slack service as
  ``$slack-token``; ESO creates and owns the Secret (the chart does not create it).
"""

from __future__ import annotations

from typing import Any

from components.argocd import names
from components.config import StackConfig
from components.external_secrets.external_secret import Entry, external_secret
from components.naming import PLATFORM_SCOPE, Backend

BACKEND: Backend = "aws"  # AwsSecrets creates platform/argocd/<key> in Secrets Manager


def _labels(purpose: str) -> dict[str, str]:
    return {**names.MANAGED_LABELS, "app.kubernetes.io/component": purpose}


def is_ssh_url(url: str) -> bool:
    return url.startswith(("ssh://", "git@"))


def repository_template(settings: StackConfig) -> dict[str, str]:
    """The repository Secret's keys: literal settings plus the fetched credential (a Go template)."""
    url = settings.gitops.repo_url
    credential = f"{{{{ .{names.REPO_CREDENTIAL_KEY} }}}}"
    data = {"type": "git", "url": url}
    if is_ssh_url(url):
        data["sshPrivateKey"] = credential
    else:
        data["username"] = settings.argocd.repo_username
        data["password"] = credential
    return data


def repository_external_secret(settings: StackConfig) -> dict[str, Any]:
    return external_secret(
        name=names.REPO_SECRET,
        namespace=names.NAMESPACE,
        scope=PLATFORM_SCOPE,
        entries=[Entry(names.REPO_CREDENTIAL_KEY, BACKEND, names.REPO_CREDENTIAL_PATH)],
        target_name=names.REPO_SECRET,
        refresh_interval=settings.argocd.secret_refresh_interval,
        labels=_labels("repository-credential"),
        template_labels=names.REPOSITORY_SECRET_LABEL,
        template_data=repository_template(settings),
    )


def oidc_external_secret(settings: StackConfig) -> dict[str, Any]:
    return external_secret(
        name=names.OIDC_SECRET,
        namespace=names.NAMESPACE,
        scope=PLATFORM_SCOPE,
        entries=[Entry(names.OIDC_CLIENT_SECRET_KEY, BACKEND, names.SSO_CLIENT_SECRET_PATH)],
        target_name=names.OIDC_SECRET,
        refresh_interval=settings.argocd.secret_refresh_interval,
        labels=_labels("sso-client-secret"),
        template_labels=names.PART_OF_LABEL,
    )


def notifications_external_secret(settings: StackConfig) -> dict[str, Any]:
    return external_secret(
        name=names.NOTIFICATIONS_SECRET,
        namespace=names.NAMESPACE,
        scope=PLATFORM_SCOPE,
        entries=[Entry(names.SLACK_TOKEN_KEY, BACKEND, names.NOTIFICATIONS_TOKEN_PATH)],
        target_name=names.NOTIFICATIONS_SECRET,
        refresh_interval=settings.argocd.secret_refresh_interval,
        labels=_labels("notifications-token"),
        template_labels=names.PART_OF_LABEL,
    )


def platform_external_secrets(settings: StackConfig) -> list[dict[str, Any]]:
    """The three ExternalSecrets, in registration order."""
    return [
        repository_external_secret(settings),
        oidc_external_secret(settings),
        notifications_external_secret(settings),
    ]
