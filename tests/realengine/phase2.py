"""Phase 2 against a real server: the plan's Vault resources applied as the Vault provider does, and a TokenReview stub.

``apply_resource`` makes, for each Vault resource type the program registers, the API write the
Vault provider makes for it (then reads it back). What OpenBao cannot take is substituted, and
each substitution is named where it happens:

* the AWS auth role (``vault:aws/authBackendRole``): OpenBao has no AWS auth method, so the
  deployer's right to write it is checked with ``sys/capabilities`` instead of a write;
* the file audit device's path (``/vault/audit/...`` on Vault's audit volume) becomes a file of the test;
* secret values the plan holds as ``"[secret]"`` get a test value;
* Kubernetes auth's API server CA: in Vault's pod it comes from the service account's files
  (no ``kubernetes_ca_cert`` in the plan); here ``disable_local_ca_jwt`` and a throwaway CA.

``TokenReviewStub`` answers ``POST /apis/authentication.k8s.io/v1/tokenreviews`` on 127.0.0.1 as the
Kubernetes API server does for service account tokens it issued (``issue``): authenticated with
the token's service account when one of the requested audiences is the token's, refused otherwise.
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.realengine.database_plan import CONNECTION, ENDPOINT, ROLE
from tests.realengine.openbao import OpenBao

SECRET = "[secret]"
AWS_ROLE = "vault:aws/authBackendRole:AuthBackendRole"
TOKEN_REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
# The database engine's writes: path of each (the deployer's right to make them is what this tier checks).
DATABASE_WRITES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    CONNECTION: lambda i: f"{i['backend']}/config/{i['name']}",
    ROLE: lambda i: f"{i['backend']}/roles/{i['name']}",
    ENDPOINT: lambda i: str(i["path"]),
}


def apply_resource(server: OpenBao, token: str, resource: Mapping[str, Any], audit_dir: Path) -> None:
    """One planned Vault resource, written with ``token`` and read back as the provider's refresh would."""
    i, kind = resource["inputs"], resource["type"]
    if kind == "vault:index/mount:Mount":
        body = {"type": i["type"], "description": i["description"], "options": i.get("options", {})}
        server.request("POST", f"sys/mounts/{i['path']}", token, body)
        server.request("GET", f"sys/mounts/{i['path']}", token)
    elif kind == "vault:kv/secretBackendV2:SecretBackendV2":
        server.request("POST", f"{i['mount']}/config", token, {"max_versions": i["maxVersions"], "cas_required": i["casRequired"]})
        server.request("GET", f"{i['mount']}/config", token)
    elif kind == "vault:index/audit:Audit":
        options = dict(i["options"])
        if options["file_path"] != "stdout":  # substituted: Vault's audit volume is a file of the test
            options["file_path"] = str(audit_dir / Path(options["file_path"]).name)
        server.request("PUT", f"sys/audit/{i['path']}", token, {"type": i["type"], "description": i["description"], "options": options})
        server.request("GET", "sys/audit", token)
    elif kind == "vault:index/authBackend:AuthBackend":
        server.request("POST", f"sys/auth/{i['path']}", token, {"type": i["type"], "description": i["description"]})
        server.request("GET", f"sys/auth/{i['path']}", token)
        server.request("GET", f"sys/auth/{i['path']}/tune", token)
    elif kind == "vault:kubernetes/authBackendConfig:AuthBackendConfig":
        # substituted: Vault's pod reads the API server's CA from its service account files; this machine has none.
        server.request("POST", f"auth/{i['backend']}/config", token, {
            "kubernetes_host": i["kubernetesHost"], "disable_local_ca_jwt": True, "kubernetes_ca_cert": throwaway_ca_pem()})
        server.request("GET", f"auth/{i['backend']}/config", token)
    elif kind == "vault:index/policy:Policy":
        server.request("PUT", f"sys/policies/acl/{i['name']}", token, {"policy": i["policy"]})
        server.request("GET", f"sys/policies/acl/{i['name']}", token)
    elif kind == "vault:kubernetes/authBackendRole:AuthBackendRole":
        server.request("POST", f"auth/{i['backend']}/role/{i['roleName']}", token, {
            "bound_service_account_names": i["boundServiceAccountNames"],
            "bound_service_account_namespaces": i["boundServiceAccountNamespaces"],
            "audience": i["audience"], "token_policies": i["tokenPolicies"],
            "token_ttl": i["tokenTtl"], "token_max_ttl": i["tokenMaxTtl"],
        })
        server.request("GET", f"auth/{i['backend']}/role/{i['roleName']}", token)
    elif kind == AWS_ROLE:  # substituted: no AWS auth method in OpenBao; the deployer's right to write the role instead
        path = f"auth/{i['backend']}/role/{i['role']}"
        caps = server.request("POST", "sys/capabilities-self", token, {"paths": [path]})[path]
        assert {"create", "read", "update", "delete"} <= set(caps), (path, caps)
    elif kind in DATABASE_WRITES:  # substituted: needs a PostgreSQL; applied against one by test_database_engine.py
        path = DATABASE_WRITES[kind](i)
        caps = server.request("POST", "sys/capabilities-self", token, {"paths": [path]})[path]
        assert ({"update"} if kind == ENDPOINT else {"create", "update"}) <= set(caps), (path, caps)
    elif kind == "vault:kv/secretV2:SecretV2":
        data = json.loads(i["dataJson"]) if i["dataJson"] != SECRET else {"value": f"test-value-of-{i['name']}"}
        server.request("POST", f"{i['mount']}/data/{i['name']}", token, {"data": data})
        server.request("GET", f"{i['mount']}/data/{i['name']}", token)
    elif kind != "vault:index/provider:Provider":
        raise AssertionError(f"no apply for {kind}: add what the Vault provider calls for it")


def throwaway_ca_pem() -> str:
    """A self-signed CA certificate (the stub speaks plain HTTP: Vault only needs one configured)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-kubernetes-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Issued:
    namespace: str
    service_account: str
    audiences: tuple[str, ...]
    uid: str


class TokenReviewStub:
    """The API server's TokenReview for the service account tokens it issued, on 127.0.0.1."""

    def __init__(self) -> None:
        self.issued: dict[str, Issued] = {}
        self.reviews: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.reviews.append(body)
                status = stub.review(body["spec"]["token"], body["spec"].get("audiences") or [])
                answer = json.dumps({**body, "status": status}).encode()
                self.send_response(201 if self.path == TOKEN_REVIEW_PATH else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def issue(self, namespace: str, service_account: str, audiences: tuple[str, ...]) -> str:
        """A service account token (a JWT whose claims Vault reads; the signature is the API server's business)."""
        issued = Issued(namespace, service_account, audiences, str(uuid.uuid4()))
        claims = {
            "iss": "https://kubernetes.default.svc", "sub": f"system:serviceaccount:{namespace}:{service_account}",
            "aud": list(audiences), "exp": 4102444800, "iat": 1700000000, "nbf": 1700000000,
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": service_account, "uid": issued.uid}},
        }
        header = {"alg": "RS256", "kid": "stub", "typ": "JWT"}
        jwt = ".".join((_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(secrets.token_bytes(256))))
        self.issued[jwt] = issued
        return jwt

    def review(self, token: str, audiences: list[str]) -> dict[str, Any]:
        issued = self.issued.get(token)
        matched = [a for a in audiences if issued and a in issued.audiences] if audiences else list(issued.audiences if issued else ())
        if issued is None or not matched:
            return {"authenticated": False, "error": "invalid bearer token, token audiences are invalid"}
        return {
            "authenticated": True,
            "audiences": matched,
            "user": {"username": f"system:serviceaccount:{issued.namespace}:{issued.service_account}", "uid": issued.uid,
                     "groups": ["system:serviceaccounts", f"system:serviceaccounts:{issued.namespace}", "system:authenticated"]},
        }

    @contextmanager
    def running(self) -> Iterator[TokenReviewStub]:
        self.thread.start()
        try:
            yield self
        finally:
            self.http.shutdown()
            self.http.server_close()
