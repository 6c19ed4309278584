"""Container images of the Vault installation, pinned by tag and digest.

The chart renders ``<repository>:<tag>``, so a ``tag@digest`` pin makes the
kubelet pull exactly the pinned index. Digests are multi-architecture index
digests, as published on Docker Hub; a moved tag cannot change what runs. Update
a pin by its tag and the digest the registry reports for it (the markers let an
update bot follow each one).

Provenance (no registry is reachable from the build): each digest is the one public
manifests and pin tables give for that tag. ``hashicorp/vault:2.0.4`` and
``amazon/aws-cli:2.37.5`` are cited identically by several independent projects;
``hashicorp/vault-k8s:1.7.6`` by one image audit only: check it with
``docker buildx imagetools inspect hashicorp/vault-k8s:1.7.6`` before the first
production rollout (a wrong digest fails closed: the injector pods do not start).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImagePin:
    repository: str
    tag: str
    digest: str

    def __post_init__(self) -> None:
        if not (self.digest.startswith("sha256:") and len(self.digest) == 71):
            raise ValueError(f"{self.repository}: digest must be sha256:<64 hex characters>")

    @property
    def chart_tag(self) -> str:
        """What the chart's ``image.tag`` receives."""
        return f"{self.tag}@{self.digest}"

    @property
    def reference(self) -> str:
        """A full image reference for pods this component declares itself."""
        return f"{self.repository}:{self.chart_tag}"


# renovate: datasource=docker depName=hashicorp/vault
VAULT = ImagePin("hashicorp/vault", "2.0.4", "sha256:5be49781ecf78bfe775c5309c6a4d9f4e9e040b6c885c99eb2b12fb69855e1a2")
# renovate: datasource=docker depName=hashicorp/vault-k8s
VAULT_K8S = ImagePin("hashicorp/vault-k8s", "1.7.6", "sha256:55e27b080c9b0469fd420dfb3631243488c6319504b779423caa46c529a95490")
# renovate: datasource=docker depName=amazon/aws-cli
AWS_CLI = ImagePin("amazon/aws-cli", "2.37.5", "sha256:fb7ccfc7b4e3a05017e6c9ded4ba959b99af622130e211fb976c68c2f4d3f224")
