"""Replace the plan's "[secret]" placeholders with realistic values of their kind.

A real ``pulumi preview`` hands policies the decrypted value, so a rule that only passes
because it sees "[secret]" would block every real preview. The runner's second pass swaps
each placeholder for a value shaped like the real thing: a PEM private key (generated at run
time with ``cryptography``, never stored) where a TLS/private key goes, a certificate where a
certificate goes, a token where a token goes, a random password otherwise.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import random
import re
import string
from collections import Counter
from collections.abc import Mapping
from typing import Any

from policies.rules.core import SECRET
from policies.rules.secrets import K8S_SECRET_TYPES

_ALNUM = string.ascii_letters + string.digits


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class RealisticValues:
    """Generates one value per placeholder and counts the kinds it produced."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng: random.Random = rng or random.SystemRandom()
        self._key_pem: str | None = None
        self._cert_pem: str | None = None
        self.counts: Counter[str] = Counter()

    # -- generators ----------------------------------------------------------------------------

    def _chars(self, n: int, alphabet: str = _ALNUM) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(n))

    def _key(self) -> Any:
        from cryptography.hazmat.primitives.asymmetric import rsa

        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def private_key_pem(self) -> str:
        if self._key_pem is None:
            from cryptography.hazmat.primitives import serialization

            key = self._key()
            self._key_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ).decode("ascii")
            self._cert_pem = self._self_signed(key)
        return self._key_pem

    def _self_signed(self, key: Any) -> str:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import NameOID

        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vault.vault.svc")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def certificate_pem(self) -> str:
        self.private_key_pem()
        assert self._cert_pem is not None
        return self._cert_pem

    def password(self) -> str:
        return self._chars(1, string.ascii_letters) + self._chars(23, _ALNUM + "-_!@%+")

    def vault_token(self) -> str:
        return "hvs." + self._chars(92, _ALNUM + "_-")

    def github_token(self) -> str:
        return "ghp_" + self._chars(36)

    def jwt(self) -> str:
        header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps({"sub": "system:serviceaccount:x:y", "iat": 0}).encode())
        return f"{header}.{payload}.{_b64url(bytes(self._rng.getrandbits(8) for _ in range(64)))}"

    def aws_access_key_id(self) -> str:
        return "AKIA" + self._chars(16, string.ascii_uppercase + string.digits)

    def aws_secret_access_key(self) -> str:
        return self._chars(40, _ALNUM + "+/")

    def credentials_json(self) -> str:
        return json.dumps({"username": "app", "password": self.password()})

    # -- classification ------------------------------------------------------------------------

    @staticmethod
    def kind_for(path: tuple[str | int, ...]) -> str:
        """The kind of secret a position holds, from the nearest key name."""
        key = next((p for p in reversed(path) if isinstance(p, str)), "")
        norm = re.sub(r"[^a-z0-9.]", "", key.lower())
        if norm.endswith(".key") or "privatekey" in norm or norm in ("tlskey", "clientkey", "cakey", "key.pem"):
            return "pem-private-key"
        if norm.endswith((".crt", ".pem")) or "certpem" in norm or norm in ("cacert", "certificate", "cabundle", "tlscrt"):
            return "pem-certificate"
        if "accesskeyid" in norm:
            return "aws-access-key-id"
        if "secretaccesskey" in norm:
            return "aws-secret-access-key"
        if "github" in norm and "token" in norm:
            return "github-token"
        if "jwt" in norm:
            return "jwt"
        if "token" in norm:
            return "vault-token"
        if norm in ("secretstring", "datajson", "datajsonwo", "secretstringwo"):
            return "credentials-json"
        return "password"

    def value(self, kind: str) -> str:
        self.counts[kind] += 1
        generators = {
            "pem-private-key": self.private_key_pem,
            "pem-certificate": self.certificate_pem,
            "aws-access-key-id": self.aws_access_key_id,
            "aws-secret-access-key": self.aws_secret_access_key,
            "github-token": self.github_token,
            "jwt": self.jwt,
            "vault-token": self.vault_token,
            "credentials-json": self.credentials_json,
            "password": self.password,
        }
        return generators[kind]()

    # -- substitution --------------------------------------------------------------------------

    def _secret_data(self, secret_type: Any, encode: bool) -> dict[str, str]:
        """A whole ``data``/``stringData`` map that was secret as one value."""
        if secret_type == "kubernetes.io/tls":
            data = {"tls.crt": self.value("pem-certificate"), "tls.key": self.value("pem-private-key")}
        else:
            data = {"password": self.value("password")}
        if encode:
            return {k: base64.b64encode(v.encode()).decode("ascii") for k, v in data.items()}
        return data

    def replace(self, resource_type: str, inputs: Any) -> Any:
        """A deep copy of ``inputs`` with every "[secret]" replaced."""
        is_secret = resource_type in K8S_SECRET_TYPES
        secret_type = inputs.get("type") if isinstance(inputs, Mapping) else None

        def visit(obj: Any, path: tuple[str | int, ...]) -> Any:
            if obj == SECRET and isinstance(obj, str):
                if is_secret and len(path) == 1 and path[0] in ("data", "stringData"):
                    return self._secret_data(secret_type, encode=path[0] == "data")
                produced = self.value(self.kind_for(path))
                if is_secret and path[:1] == ("data",):
                    return base64.b64encode(produced.encode()).decode("ascii")
                return produced
            if isinstance(obj, Mapping):
                return {k: visit(v, (*path, str(k))) for k, v in obj.items()}
            if isinstance(obj, list):
                return [visit(v, (*path, i)) for i, v in enumerate(obj)]
            return copy.copy(obj)

        return visit(inputs, ())


def realize_plan(resources: list[dict[str, Any]], values: RealisticValues) -> list[dict[str, Any]]:
    """The plan with every placeholder in every resource's inputs replaced."""
    out: list[dict[str, Any]] = []
    for resource in resources:
        copy_ = dict(resource)
        copy_["inputs"] = values.replace(str(resource.get("type", "")), resource.get("inputs") or {})
        out.append(copy_)
    return out
