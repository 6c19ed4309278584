"""Typed stack configuration: the one place that reads Pulumi config.

Components receive these frozen objects and never call ``pulumi.Config``.
Every problem in the stack file is collected and reported at once, before any
resource is registered, as ``platform:<key path>: <what is wrong>. Fix: <what to
do>``. Messages never echo a value, since a misplaced secret could be one.

One module per component, each with its model(s) and the rules within them:
``cluster``, ``aws``, ``gitops``, ``vault``, ``environments`` (apps and their
secrets), ``external_secrets`` and ``argocd``; ``types`` holds what they share,
``errors`` how problems are reported, and ``stack`` the StackConfig that joins
them, the rules across sections and the entry points. ``isolation`` holds the rules
that keep environments, apps and stacks apart, ``limits`` those on load and chart
overrides, ``stack_file`` those on the stack file itself (its name, namespaces,
retyped YAML scalars, plaintext secrets). Import from the package.
"""

from components.config.argocd import ArgoCdConfig, ArgoCdSyncWindow
from components.config.aws import AwsConfig
from components.config.cluster import ClusterConfig
from components.config.environments import AppConfig, EnvironmentConfig, NodeIsolation, SecretSpec
from components.config.errors import ConfigError, ConfigIssue
from components.config.external_secrets import ExternalSecretsConfig, SealedSecretsConfig, WorkloadSizing
from components.config.gitops import GitOpsConfig
from components.config.stack import PlatformConfig, StackConfig, load_platform_config, parse_stack_config, raw_secret_keys, referenced_config_keys
from components.config.types import KNOWN_ENVIRONMENTS, PROJECT, SYSTEM_NAMESPACES, iam_role_identity, mebibytes
from components.config.vault import VaultConfig, VaultLoginConfig

__all__ = [
    "KNOWN_ENVIRONMENTS",
    "PROJECT",
    "SYSTEM_NAMESPACES",
    "AppConfig",
    "ArgoCdConfig",
    "ArgoCdSyncWindow",
    "AwsConfig",
    "ClusterConfig",
    "ConfigError",
    "ConfigIssue",
    "EnvironmentConfig",
    "ExternalSecretsConfig",
    "GitOpsConfig",
    "NodeIsolation",
    "PlatformConfig",
    "SealedSecretsConfig",
    "SecretSpec",
    "StackConfig",
    "VaultConfig",
    "VaultLoginConfig",
    "WorkloadSizing",
    "iam_role_identity",
    "load_platform_config",
    "mebibytes",
    "parse_stack_config",
    "raw_secret_keys",
    "referenced_config_keys",
]
