"""Policy pack of the GitOps secrets platform.

The rules live in :mod:`policies.rules` as pure functions; :mod:`policies.pack` adapts them
to ``pulumi_policy`` and :mod:`policies.runner` runs them offline over a plan. Importing this
package never builds a ``PolicyPack`` (constructing one starts a gRPC server and blocks): only
``policies/__main__.py``, which the Pulumi CLI executes, does that.
"""
