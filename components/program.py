"""The Pulumi program as a function, so the offline plan and tests run exactly it."""

from __future__ import annotations

import pulumi

from components.config import load_platform_config
from components.platform import Platform


def main() -> None:
    """Load and validate config, build the platform, export its outputs."""
    config = load_platform_config()
    platform = Platform("platform", config)
    pulumi.export("namespaces", platform.namespaces)
    pulumi.export("environments", sorted(config.settings.environments))
    # Public: save it as vault.login.caCertFile before phase 2 (docs/bootstrap.md).
    pulumi.export("vaultCaCertificate", platform.vault.ca_cert_pem)
