"""Schema changes that never lose data: rename questions, a data-aware gate and db check."""
from schema_safety.autogen import review_autogenerate
from schema_safety.gate import install_gate

__all__ = ["install_gate", "review_autogenerate"]
