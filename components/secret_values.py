"""Where a managed secret's value comes from, decided once for every backend.

``random`` values come from pulumi-random (the engine marks ``result`` secret);
the ``rotation`` keeper replaces the password when it changes. ``config`` values
are secret config Outputs read by the config loader. ``external`` values are
never held by the program, so there is nothing to return.
"""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.config import PlatformConfig, SecretSpec

# URL-unreserved symbols only: values end up in connection strings and shells.
SAFE_SYMBOLS = "-_.~"


def password_args(spec: SecretSpec) -> random.RandomPasswordArgs:
    """Pure: the RandomPassword arguments for a ``random`` secret."""
    if spec.source != "random" or spec.length is None or spec.rotation is None:
        raise ValueError(f"secret {spec.key!r} is not a validated random secret")
    symbols = spec.charset == "symbols"
    return random.RandomPasswordArgs(
        length=spec.length,
        special=symbols,
        override_special=SAFE_SYMBOLS if symbols else None,
        min_special=2 if symbols else 0,
        min_lower=1,
        min_upper=1,
        min_numeric=1,
        keepers={"rotation": spec.rotation},
    )


def managed_value(
    resource_name: str, spec: SecretSpec, config: PlatformConfig, parent: pulumi.Resource
) -> pulumi.Output[str] | None:
    """The secret Output holding a managed value, or None for ``external`` secrets."""
    if spec.source == "random":
        password = random.RandomPassword(resource_name, password_args(spec), opts=pulumi.ResourceOptions(parent=parent))
        return password.result
    if spec.source == "config":
        assert spec.config_key is not None  # guaranteed by config validation
        return config.secret_values[spec.config_key]
    return None
