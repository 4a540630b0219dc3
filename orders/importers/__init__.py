"""Excel and CSV imports into the order cycle: orders (one row per line), read with openpyxl in
read-only mode, checked in a dry run and then imported all or nothing through intake's
`place_orders`. The job of each upload (its file, progress and outcome) is a BulkJob row."""

from .orders import (
    EXAMPLE_ORDER_ID,
    background_rows,
    check_order_import,
    confirm_order_import,
    import_order_file,
    runs_in_background,
    start_order_import,
)

__all__ = [
    "EXAMPLE_ORDER_ID",
    "background_rows",
    "check_order_import",
    "confirm_order_import",
    "import_order_file",
    "runs_in_background",
    "start_order_import",
]
