"""TenantAdmission: the ValidatingAdmissionPolicies of components/admission/policies.py and their bindings.

Registered before Argo CD (the platform makes the ArgoCD component depend on it), so no
Application syncs into an environment namespace before the API server enforces them: a tenant
cannot race the first ``pulumi up``.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.admission.policies import admission_policies
from components.config import StackConfig


class TenantAdmission(pulumi.ComponentResource):
    """One ValidatingAdmissionPolicy per concern, each bound to the stack's environment namespaces."""

    policy_names: list[str]

    def __init__(
        self,
        name: str,
        *,
        settings: StackConfig,
        k8s_provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("platform:kubernetes:TenantAdmission", name, None, opts)
        environments = list(settings.environments)
        self.policy_names = []
        for spec in admission_policies(settings):
            manifest = spec.policy()
            policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                spec.name,
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider),
            )
            binding = spec.binding(environments)
            k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                spec.name,
                metadata=binding["metadata"],
                spec=binding["spec"],
                opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider, depends_on=[policy]),
            )
            self.policy_names.append(spec.name)
        self.register_outputs({"policyNames": self.policy_names})
