"""Recognising secrets by structure and content, since policies never see secretness.

Two questions, kept apart:

* :func:`is_secret_key` -- does a key *name* say its value is a secret (``dbPassword``,
  ``clientSecret``, ``GITHUB_TOKEN``) rather than the *name of* a secret (``existingSecret``,
  ``passwordSecretRef``, ``tokenSecretKey``, ``secretName``, ``tokenTtl``)?
* :func:`find_secret_material` -- does a string *look like* key material or a credential
  (PEM private keys, AWS access key ids, Vault / GitHub tokens, JWTs), whatever its key?

Messages built from these never echo a value: a report must not leak what it found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import yaml

from policies.rules.core import SECRET, UNKNOWN, Path

# Words that make a key secret-like. Compounds ("api key") are joined before the lookup.
SECRET_WORDS = frozenset(
    {
        "password", "passwords", "passwd", "passphrase", "pwd",
        "secret", "secrets",
        "token", "tokens",
        "apikey", "apikeys", "privatekey", "privatekeys", "accesskey", "accesskeys",
        "encryptionkey", "signingkey", "unsealkey", "unsealkeys", "recoverykey", "recoverykeys",
        "masterkey", "credential", "credentials", "creds", "jwt", "bearer",
        # lower-case run-together spellings the splitter cannot separate
        "secretkey", "clientsecret", "authtoken", "accesstoken", "refreshtoken", "bearertoken",
        "apitoken", "sessiontoken", "webhooksecret",
    }
)
_COMPOUNDS = {
    ("api", "key"), ("api", "keys"), ("private", "key"), ("private", "keys"), ("access", "key"),
    ("access", "keys"), ("encryption", "key"), ("signing", "key"), ("unseal", "key"),
    ("unseal", "keys"), ("recovery", "key"), ("recovery", "keys"), ("master", "key"),
}
# A word after the (last) secret word that turns the key into metadata about a secret.
METADATA_WORDS = frozenset(
    {
        "name", "names", "ref", "refs", "reference", "references", "selector", "namespace",
        "path", "paths", "file", "files", "filename", "dir", "directory", "mount", "mounts",
        "location", "url", "uri", "endpoint", "address", "addr", "host", "port",
        "ttl", "ttls", "max", "min", "period", "length", "len", "size", "expiry", "expiration",
        "expires", "duration", "timeout", "interval", "lifetime", "age", "count", "retries",
        "type", "types", "kind", "policy", "policies", "format", "encoding", "algorithm", "alg",
        "enabled", "enable", "disabled", "required", "rotation", "rotate", "version", "versions",
        "store", "stores", "manager", "provider", "providers", "backend", "engine", "source",
        "sources", "target", "template", "templates", "class", "label", "labels", "annotation",
        "annotations", "volume", "volumes", "property", "field", "item", "items", "prefix",
        "suffix", "hash", "env", "var", "vars", "variable", "auth", "audience", "audiences",
        "header", "mode", "strategy", "generator", "sync", "refresh", "create", "accessor",
        "role", "roles", "config",
    }
)
# A first word that makes the whole key a switch or a pointer, not a value holder.
REFERENCE_PREFIXES = frozenset(
    {
        "existing", "use", "create", "enable", "enabled", "disable", "generate", "auto",
        "automount", "skip", "mount", "require", "allow", "rotate", "from", "external",
    }
)
# "<word> secret" names a Secret object rather than holding one (tlsSecret, imagePullSecret).
_SECRET_OBJECT_QUALIFIERS = frozenset(
    {"tls", "cert", "certificate", "ca", "pull", "existing", "password", "token", "credentials", "credential"}
)
# Secret words after which a trailing "key" is the key *inside* a Secret (passwordKey).
_KEY_IN_SECRET = frozenset({"password", "passwd", "token", "credential", "credentials"})

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def key_words(key: str) -> list[str]:
    """``passwordSecretRef`` -> [password, secret, ref]; ``DB_PASSWORD`` -> [db, password]."""
    last = key.rsplit(".", 1)[-1] if "." in key and not key.endswith(".") else key
    words = [w.lower() for w in _WORD.findall(last)]
    joined: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words) and (words[i], words[i + 1]) in _COMPOUNDS:
            joined.append(words[i] + words[i + 1])
            i += 2
        else:
            joined.append(words[i])
            i += 1
    return joined


def is_secret_key(key: str, extra_words: Iterable[str] = (), ignored: Iterable[str] = ()) -> bool:
    """Whether a value under ``key`` is meant to be a secret (see the module docstring)."""
    if key in set(ignored):
        return False
    words = key_words(key)
    vocabulary = SECRET_WORDS | {w.lower() for w in extra_words}
    hits = [i for i, w in enumerate(words) if w in vocabulary]
    if not hits:
        return False
    if words[0] in REFERENCE_PREFIXES:
        return False
    last = hits[-1]
    after = words[last + 1 :]
    if any(w in METADATA_WORDS for w in after):
        return False
    if after and after[0] in ("id", "ids") and words[last] not in ("secret", "secrets"):
        # accessKeyId, kmsKeyId, tokenId name a key; a Vault AppRole secretId is a secret.
        return False
    if after and after[-1] in ("key", "keys"):
        # passwordKey / tokenKey / passwordSecretKey: the key inside a referenced Secret.
        before = words[last]
        if before in _KEY_IN_SECRET:
            return False
        if before in ("secret", "secrets") and any(w in _KEY_IN_SECRET for w in words[:last]):
            return False
    # tlsSecret / imagePullSecret: the name of a Secret object.
    names_object = words[last] in ("secret", "secrets") and last > 0 and words[last - 1] in _SECRET_OBJECT_QUALIFIERS
    return not (not after and names_object)


_REFERENCE_VALUE = re.compile(
    r"""^(
        \$\{[^}]+\}            # ${VAR}
      | \$\([^)]+\)            # $(VAR): Kubernetes env expansion
      | \{\{.*\}\}             # {{ helm / argocd / go template }}
      | \$[A-Za-z0-9_.:-]+     # $secret-name:key (Argo CD secret references)
      | arn:aws[a-z-]*:.*      # an ARN names a secret, it is not one
      | /[^\s]*                # an absolute file path
      | file://.*
    )$""",
    re.VERBOSE | re.DOTALL,
)
_BOOLISH = frozenset({"true", "false", "yes", "no", "on", "off", "null", "none", "~"})


def is_literal_secret_value(value: Any) -> bool:
    """A literal string that would be a plaintext secret under a secret-like key.

    References (``${VAR}``, ``$(VAR)``, templates, Argo CD ``$secret:key``, ARNs, file
    paths), booleans spelled as strings, empty strings and "[unknown]" are not.
    "[secret]" is: in a real preview that position holds the decrypted value.
    """
    if not isinstance(value, str):
        return False
    text = value.strip()
    if not text or text == UNKNOWN or text.lower() in _BOOLISH:
        return False
    return not _REFERENCE_VALUE.match(text)


# --- content patterns -------------------------------------------------------------------------

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "PEM private key",
        re.compile(r"-----BEGIN (?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----|-----BEGIN PGP PRIVATE KEY BLOCK-----"),
    ),
    ("AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("Vault token", re.compile(r"(?<![A-Za-z0-9_])hv[sbr]\.[A-Za-z0-9_-]{20,}")),
    ("legacy Vault token", re.compile(r"(?<![A-Za-z0-9_.\-/+])s\.[A-Za-z0-9]{24}(?![A-Za-z0-9_.\-])")),
    ("GitHub token", re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("JWT", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)


def find_secret_material(text: str) -> list[str]:
    """Names of the credential kinds whose pattern occurs in ``text`` (sorted, unique)."""
    return sorted({name for name, pattern in SECRET_PATTERNS if pattern.search(text)})


# --- embedded documents -----------------------------------------------------------------------

_ASSIGNMENT = re.compile(
    r"""^\s*(?:export\s+)?["']?(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)["']?\s*(?:=|:(?=\s))\s*(?P<value>.*?)\s*[,;]?\s*$"""
)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def text_assignments(text: str) -> Iterator[tuple[str, str]]:
    """``key = value`` / ``key: value`` / ``KEY=value`` lines of an embedded config file.

    Block openers (``{``, ``[``, ``|``, ``>``, heredocs) and comment lines are skipped.
    """
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "//", ";")):
            continue
        m = _ASSIGNMENT.match(line)
        if not m:
            continue
        value = m.group("value")
        if not value or value[0] in "{[|>&*" or value.startswith("<<"):
            continue
        yield m.group("key"), _unquote(value)


def parse_embedded(text: str) -> Any:
    """A string holding JSON or YAML mapping/list, parsed; otherwise None."""
    stripped = text.strip()
    if not stripped or ("\n" not in stripped and not stripped.startswith(("{", "["))):
        return None
    try:
        if stripped.startswith(("{", "[")):
            return json.loads(stripped)
    except ValueError:
        pass
    try:
        doc = yaml.safe_load(stripped)
    except yaml.YAMLError:
        return None
    return doc if isinstance(doc, (Mapping, list)) else None


def key_value_pairs(obj: Any, path: Path = ()) -> Iterator[tuple[Path, str, Any, Mapping[str, Any]]]:
    """Every (path, key, value, containing mapping) of a nested structure, name/value items included.

    ``[{name: DB_PASSWORD, value: x}]`` (container env, Argo CD Helm parameters, chart
    ``extraEnv`` lists) is reported as key ``DB_PASSWORD`` with path ``...[i].value``.
    """
    if isinstance(obj, Mapping):
        name = obj.get("name")
        if isinstance(name, str) and "value" in obj:
            yield (*path, "value"), name, obj.get("value"), obj
        for key, value in obj.items():
            yield (*path, str(key)), str(key), value, obj
            if isinstance(value, (Mapping, list)):
                yield from key_value_pairs(value, (*path, str(key)))
    elif isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        for i, value in enumerate(obj):
            yield from key_value_pairs(value, (*path, i))


def names_a_secret(key: str) -> bool:
    """A key like ``secretName`` / ``existingSecret`` / ``secretRef``: mentions a secret, holds none."""
    return not is_secret_key(key) and any(w in SECRET_WORDS for w in key_words(key))


def _key_inside_referenced_secret(key: str, siblings: Mapping[str, Any]) -> bool:
    """``{secretName: aws, secretKey: key}``: the key names an entry of the referenced Secret."""
    words = key_words(key)
    return bool(words) and words[-1] in ("key", "keys") and any(names_a_secret(str(k)) for k in siblings if k != key)


def literal_secret_findings(
    obj: Any,
    path: Path,
    extra_words: Iterable[str] = (),
    ignored: Iterable[str] = (),
    scan_text: bool = True,
) -> list[tuple[Path, str]]:
    """(path, why) for literal secrets in a values-like structure.

    Three findings: a secret-like key with a literal value; a value the program marked
    secret ("[secret]") in a place that is not built to hold secrets; and, inside multi-line
    strings (embedded config files, HCL, YAML), secret-like assignments with literal values.
    """
    extra = tuple(extra_words)
    ign = tuple(ignored)
    found: list[tuple[Path, str]] = []
    seen: set[tuple[Path, str]] = set()
    for sub_path, key, value, siblings in key_value_pairs(obj, path):
        if not isinstance(value, str) or _key_inside_referenced_secret(key, siblings):
            continue
        items: list[tuple[Path, str]] = []
        if value == SECRET:
            items.append((sub_path, "holds a value the program marks secret"))
        elif is_secret_key(key, extra, ign) and is_literal_secret_value(value):
            items.append((sub_path, f"secret-like key '{key}' holds a literal value"))
        elif scan_text and "\n" in value:
            items.extend(_text_findings(value, sub_path, extra, ign))
        for item in items:
            if item not in seen:
                seen.add(item)
                found.append(item)
    return found


def _text_findings(text: str, path: Path, extra: tuple[str, ...], ign: tuple[str, ...]) -> list[tuple[Path, str]]:
    doc = parse_embedded(text)
    if doc is not None:
        return [
            (path, f"embedded document: {why}")
            for _p, why in literal_secret_findings(doc, (), extra, ign, scan_text=False)
        ]
    found: list[tuple[Path, str]] = []
    for key, value in text_assignments(text):
        if is_secret_key(key, extra, ign) and is_literal_secret_value(value):
            found.append((path, f"embedded line sets secret-like key '{key}' to a literal value"))
    return found
