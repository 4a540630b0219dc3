"""What the order services announce to the apps above orders, and where those apps contribute to
the order's pages, messages and rules (docs/architecture.md, "Events"). Each announcement is
published by the service that did the thing, inside its transaction, after the rows are written."""

from core.events import Event

# Announcements -----------------------------------------------------------------------------------

ORDERS_PLACED = Event(
    name="orders.orders_placed",
    doc=(
        "Orders came in (from a channel, the console, an Excel import or an exchange), one "
        "publication per batch: `orders` written with their lines, `order_events` their first "
        "steps out of pending (confirmed or held), `payments` what was paid to the channel."
    ),
    payload=("orders", "order_events", "payments"),
)

ORDER_STATUS_CHANGED = Event(
    name="orders.order_status_changed",
    doc=(
        "A placed order moved from one status to another (reviewed, picked, packed, shipped, "
        "delivered, completed, cancelled): `order_event` is the OrderEvent row that records it."
    ),
    payload=("order_event",),
)

ORDER_CANCELLED = Event(
    name="orders.order_cancelled",
    doc=(
        "An order was cancelled or rejected before it shipped: its reserved stock is back and money "
        "captured for it is owed back."
    ),
    payload=("order",),
)

PAYMENT_CAPTURED = Event(
    name="orders.payment_captured",
    doc=(
        "Money was received for a placed order (recorded by staff or through a channel): "
        "`payment` is the new Payment row."
    ),
    payload=("payment",),
)

PAYMENTS_CAPTURED = Event(
    name="orders.payments_captured",
    doc=(
        "Money was received for many orders at once (a carrier's cash-on-delivery remittance), one "
        "publication per batch: `payments` are the new payments (orders.services.CapturedPayment: "
        "the row's `pk`, the `amount` and its `order`'s settling figures as they are after the "
        "whole batch), in the order they were recorded."
    ),
    payload=("payments",),
)

DELIVERY_ADDRESS_CORRECTED = Event(
    name="orders.delivery_address_corrected",
    doc=(
        "A reviewer corrected where a held or confirmed order goes: `before` holds the earlier value "
        "of each field that changed."
    ),
    payload=("order", "before"),
)

PERSONAL_DATA_ERASED = Event(
    name="orders.personal_data_erased",
    doc=(
        "Customers' names, phones, emails and addresses were erased (on their request or after the "
        "retention period): `customer_ids` and every one of their `order_ids`. Apps above orders erase "
        'their own copies (docs/architecture.md, "Personal data").'
    ),
    payload=("customer_ids", "order_ids"),
)

# Contribution points -----------------------------------------------------------------------------

ORDER_PAGE_SECTIONS = Event(
    name="orders.order_page_sections",
    doc=(
        "Cards of the console's order page below the order's own: each subscriber returns "
        '{"template": ..., **context} for the person looking, or None to show nothing.'
    ),
    payload=("request", "order"),
)

MESSAGE_CONTEXT = Event(
    name="orders.message_context",
    doc=(
        "What a customer message may use besides the order's own values: each subscriber returns a "
        "dict merged into every message's template context."
    ),
    payload=("order",),
)

UNREACHABLE_REGIONS = Event(
    name="orders.unreachable_regions",
    doc=(
        "Which of the divisions new orders go to no carrier can deliver to: `region_codes` are the "
        "orders' division codes; each subscriber returns the set of those it cannot reach, and intake "
        'holds an order whose code every subscriber returned (docs/architecture.md, "Reachability").'
    ),
    payload=("region_codes",),
)

COMPLETION_BLOCKERS = Event(
    name="orders.completion_blockers",
    doc=(
        "What keeps a delivered order from being completed when its acceptance window ends: each "
        "subscriber returns a Q over Order that matches the orders it holds back."
    ),
    payload=(),
)

COD_OUTSTANDING = Event(
    name="orders.cod_outstanding",
    doc=(
        "Cash on delivery the carriers collected and have not paid over yet, for the reconciliation "
        "page: each subscriber returns a list of rows with `carrier`, `currency`, `parcels`, "
        "`amount` and `ages`, a (parcels, amount) pair per band of `bands`, each band (first day, "
        "last day or None) counted in whole days since delivery as of `now` "
        '(docs/architecture.md, "Cash-on-delivery remittance").'
    ),
    payload=("now", "bands"),
)

ORDER_API_PARTS = Event(
    name="orders.order_api_parts",
    doc=(
        "What the channel API's order representation shows besides the order's own fields: each "
        "subscriber returns an orders.api.serializers.OrderPart (a field and the related rows it reads)."
    ),
    payload=(),
)

CUSTOMER_DATA_SHEETS = Event(
    name="orders.customer_data_sheets",
    doc=(
        "What apps above orders hold about a customer, for the workbook handed to them on request: "
        "each subscriber returns a list of (title, headers, rows) sheets about `customer` and its "
        "`order_ids`."
    ),
    payload=("customer", "order_ids"),
)

ERASURE_BLOCKERS = Event(
    name="orders.erasure_blockers",
    doc=(
        "Why a customer's data may not be erased yet: each subscriber returns a list of sentences "
        "(an open return, an open complaint) about `customer` and its `order_ids`, empty when nothing "
        "of theirs is open."
    ),
    payload=("customer", "order_ids"),
)

ARCHIVE_HELD_BACK = Event(
    name="orders.archive_held_back",
    doc=(
        "What keeps a finished order in the live tables past its archiving age: each subscriber "
        "returns a Q over Order that matches the orders it holds back (a return still open, a live "
        "row that points at the order)."
    ),
    payload=(),
)

ORDERS_ARCHIVING = Event(
    name="orders.orders_archiving",
    doc=(
        "Finished orders (`order_ids`, locked) move to the archive in this transaction: each subscriber "
        "returns {model label: queryset} of its own rows that belong to them, each row annotated with "
        "`archived_order_id`; they are copied into the archived orders and then deleted. A subscriber "
        "that keeps figures of these orders (the rollups) reads them now, before anything is deleted."
    ),
    payload=("order_ids",),
)

ERASING_ARCHIVED_ORDER = Event(
    name="orders.erasing_archived_order",
    doc=(
        "A customer's personal data is being erased from one archived order: each subscriber blanks, "
        "in place, the personal fields of its own kept rows in `rows` ({model label: [row, ...]}) and "
        "of its own part of the kept channel API answer `answer`, the same fields it erases from its "
        'live rows on orders.personal_data_erased (docs/architecture.md, "Personal data").'
    ),
    payload=("rows", "answer"),
)

ORDER_LIST_ACTIONS = Event(
    name="orders.order_list_actions",
    doc=(
        "Bulk actions of the console's order list that apps above orders offer (change the carrier "
        "service, print slips and labels): each subscriber returns a list of dicts with `name`, "
        "`description`, `permission` (a core.permissions constant: the action is shown only to those "
        "who hold it) and `function(modeladmin, request, queryset)`, called as any admin action."
    ),
    payload=(),
)

ORDER_REWRITING = Event(
    name="orders.order_rewriting",
    doc=(
        "The lines, money or payments of placed orders (`order_ids`, locked) are about to be rewritten "
        "(an edit, a split, a gift dropped at approval): each subscriber may return a callable, called "
        "after the rows are written with the ids of the orders they concern now (a split adds the new "
        "order), so a subscriber that keeps figures of them (the rollups) counts the difference."
    ),
    payload=("order_ids",),
)

ORDER_SEARCH = Event(
    name="orders.order_search",
    doc=(
        "More orders a console search finds than the order's own fields do (a parcel's tracking "
        "number): each subscriber returns the ids of the orders matching `term`, at most 100, "
        "from an exact, indexed lookup."
    ),
    payload=("term",),
)

ORDER_LIST_SHIPPING = Event(
    name="orders.order_list_shipping",
    doc=(
        "The carrier and tracking columns of one page of the console's order list: each subscriber "
        'returns {order id: {"carrier": text, "tracking": text}} for the page\'s `order_ids`, in one '
        "query whatever the page's size."
    ),
    payload=("order_ids",),
)
