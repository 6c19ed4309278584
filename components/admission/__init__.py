"""Tenant isolation inside the environment namespaces, enforced by the API server."""

from components.admission.component import TenantAdmission

__all__ = ["TenantAdmission"]
