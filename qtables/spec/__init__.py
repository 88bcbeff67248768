"""The declarative spec: tables, columns, rules (see schemas/)."""

from qtables.spec.loader import load_spec
from qtables.spec.model import Column, Rule, Spec, Table

__all__ = ["load_spec", "Spec", "Table", "Column", "Rule"]
