"""Entry point the Pulumi CLI runs for ``--policy-pack policies``: builds the PolicyPack.

Constructing ``PolicyPack`` starts the analyzer's gRPC server and blocks, so nothing may
import this module; the rules and their adapters live in importable modules.
"""

import sys
from pathlib import Path

# The CLI runs this file with policies/ itself on sys.path; the rules import as `policies.*`.
_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.pack import PACK_DESCRIPTION, PACK_NAME, build_policies  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description=PACK_DESCRIPTION,
)
