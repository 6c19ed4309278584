"""One cell of the access matrix: can this principal read this secret path?"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class AccessCell:
    backend: str  # "aws" or "vault"
    principal: str  # system:serviceaccount:<namespace>:<service account>, or an IAM role ARN (Vault's AWS auth)
    via: str  # the IAM role or Vault auth role the principal acts through
    path: str  # <scope>/<app>/<key>
    allowed: bool
