"""The GitOps repository Argo CD reads."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from components.config.types import _Model


class GitOpsConfig(_Model):
    """The Git repository Argo CD reads."""

    repo_url: Annotated[str, Field(pattern=r"^(https://|ssh://|git@)[^\s]+$")]
    """URL of the GitOps repository; the only source Argo CD projects allow."""
    revision: Annotated[str, Field(pattern=r"^[A-Za-z0-9._/-]+$", max_length=255)]
    """Branch, tag or commit Argo CD follows."""
    path: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", max_length=200)] = "gitops"
    """Folder of the GitOps tree inside the repository (no `.` or `..` segment)."""

    @field_validator("path")
    @classmethod
    def _inside_the_repository(cls, value: str) -> str:
        # `make gitops` writes and deletes files below this folder of the checkout.
        if any(segment in (".", "..") for segment in value.split("/")):
            raise PydanticCustomError("gitops_path", "has a `.` or `..` segment, which leaves the GitOps tree")
        return value
    gpg_public_keys: dict[
        Annotated[str, Field(pattern=r"^[0-9A-F]{16}$")],
        Annotated[str, Field(pattern=r"^-----BEGIN PGP PUBLIC KEY BLOCK-----\n[\s\S]+\n-----END PGP PUBLIC KEY BLOCK-----\n?$", max_length=20000)],
    ] = {}
    """GnuPG key ID -> public key block (`gpg --export --armor`), given to Argo CD for the environments' `signatureKeys`."""
