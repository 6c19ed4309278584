"""Reusable components of the GitOps secrets platform."""
