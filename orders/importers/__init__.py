"""Excel and CSV imports into the order cycle: orders (one row per line), read by the core
spreadsheet pipeline, checked in a dry run and then imported all or nothing through intake's
`place_orders`. The job of each upload (its file, progress and outcome) is a `core.Job`."""

from .orders import (
    EXAMPLE_ORDER_ID,
    KIND,
    PERMISSION,
    background_rows,
    cancel_order_import,
    check_order_import,
    confirm_order_import,
    import_order_file,
    map_order_import,
    needs_mapping,
    retry_order_import,
    runs_in_background,
    start_order_import,
)

__all__ = [
    "EXAMPLE_ORDER_ID",
    "KIND",
    "PERMISSION",
    "background_rows",
    "cancel_order_import",
    "check_order_import",
    "confirm_order_import",
    "import_order_file",
    "map_order_import",
    "needs_mapping",
    "retry_order_import",
    "runs_in_background",
    "start_order_import",
]
