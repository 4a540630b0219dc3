"""Planning's spreadsheets out, one module per concern."""

from .inventory_page import inventory_workbook

__all__ = ["inventory_workbook"]
