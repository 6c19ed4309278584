"""Rules as pure functions over :class:`policies.rules.core.ResourceView`.

Each domain module (secrets, least_privilege, tls, api_versions, advisory) exports rule
functions; :mod:`policies.rules.registry` lists them with their metadata.
"""
