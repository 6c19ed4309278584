"""Vault in Raft HA: the VaultCluster component and its pure builders (names, TLS, values, IAM, jobs, network)."""

from components.vault.cluster import VaultCluster

__all__ = ["VaultCluster"]
