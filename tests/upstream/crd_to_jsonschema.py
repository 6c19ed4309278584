"""Convert Kubernetes CRD YAML files into per-(group, version, kind) JSON Schemas.

Refresh tool for the pinned test data under tests/upstream/ (not a test module).

Usage:
    python tests/upstream/crd_to_jsonschema.py OUT_DIR CRD.yaml [CRD.yaml ...]

For every CustomResourceDefinition found in the given files (multi-document
YAML is fine) this writes:

* OUT_DIR/<kind lowercase>_<version>.json for every version with
  ``served: true`` that carries ``schema.openAPIV3Schema``;
* OUT_DIR/served.json: {"<group>/<version>/<Kind>": true|false} for every
  version listed in the CRD (served or not).

Conversion rules (OpenAPI v3 structural schema -> JSON Schema draft-04):

* ``nullable: true`` -> the type also admits ``null``;
* ``x-kubernetes-int-or-string: true`` without ``anyOf`` -> anyOf integer/string;
* strict mode (default): every ``type: object`` node that has ``properties``,
  no ``additionalProperties``, no ``x-kubernetes-preserve-unknown-fields: true``
  and no ``x-kubernetes-embedded-resource: true`` gets
  ``additionalProperties: false`` (like ``kubectl --validate=strict`` /
  server-side field validation ``Strict``: unknown fields are errors).
  Nodes under allOf/anyOf/oneOf/not are left alone. ``--no-strict`` disables it;
* the root pins ``apiVersion`` and ``kind`` (enum) and requires them;
* ``x-kubernetes-validations`` (CEL rules) are kept but NOT evaluated by
  JSON Schema validators;
* ``x-crd`` at the root records the CRD name, scope, storage and deprecation.
"""

from __future__ import annotations

import argparse
import copy
import json
import pathlib
import sys

import yaml

DRAFT = "http://json-schema.org/draft-04/schema#"
JUNCTORS = ("allOf", "anyOf", "oneOf", "not")


def _convert(node, strict: bool, in_junctor: bool = False):
    if isinstance(node, list):
        return [_convert(item, strict, in_junctor) for item in node]
    if not isinstance(node, dict):
        return node

    out = {}
    for key, value in node.items():
        if key in JUNCTORS:
            out[key] = _convert(value, strict, True)
        elif key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: _convert(v, strict, in_junctor) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "additionalItems"):
            out[key] = _convert(value, strict, in_junctor)
        else:
            out[key] = value

    if out.get("nullable") is True:
        typ = out.get("type")
        if isinstance(typ, str):
            out["type"] = [typ, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = list(out["enum"]) + [None]

    if out.get("x-kubernetes-int-or-string") is True and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]

    if (
        strict
        and not in_junctor
        and out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and out.get("x-kubernetes-preserve-unknown-fields") is not True
        and out.get("x-kubernetes-embedded-resource") is not True
    ):
        out["additionalProperties"] = False
    return out


def crd_version_schema(crd: dict, version: dict, strict: bool = True) -> dict:
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    api_version = f"{group}/{version['name']}"
    schema = _convert(copy.deepcopy(version["schema"]["openAPIV3Schema"]), strict)
    props = schema.setdefault("properties", {})
    props["apiVersion"] = dict(props.get("apiVersion", {"type": "string"}), enum=[api_version])
    props["kind"] = dict(props.get("kind", {"type": "string"}), enum=[kind])
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind"})
    head = {
        "$schema": DRAFT,
        "title": f"{api_version}/{kind}",
        "x-crd": {
            "name": crd["metadata"]["name"],
            "group": group,
            "version": version["name"],
            "kind": kind,
            "plural": spec["names"]["plural"],
            "scope": spec["scope"],
            "served": bool(version.get("served")),
            "storage": bool(version.get("storage")),
            "deprecated": bool(version.get("deprecated", False)),
            "strict": strict,
        },
    }
    head.update(schema)
    return head


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=pathlib.Path)
    parser.add_argument("crds", nargs="+", type=pathlib.Path)
    parser.add_argument("--no-strict", action="store_true")
    args = parser.parse_args(argv)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    served: dict[str, bool] = {}
    written: dict[str, str] = {}
    for path in args.crds:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            group, kind = spec["group"], spec["names"]["kind"]
            for version in spec["versions"]:
                gvk = f"{group}/{version['name']}/{kind}"
                served[gvk] = bool(version.get("served"))
                if not version.get("served") or "schema" not in version:
                    continue
                name = f"{kind.lower()}_{version['name']}.json"
                if name in written and written[name] != gvk:
                    raise SystemExit(f"file name clash: {name} for {written[name]} and {gvk}")
                written[name] = gvk
                schema = crd_version_schema(doc, version, strict=not args.no_strict)
                (args.out_dir / name).write_text(json.dumps(schema, indent=1) + "\n")
    (args.out_dir / "served.json").write_text(json.dumps(dict(sorted(served.items())), indent=2) + "\n")
    for name, gvk in sorted(written.items()):
        print(f"{name}\t{gvk}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
