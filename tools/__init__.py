"""Repository tooling run by `make lint` and CI: the security scans (see docs/ci.md)."""
