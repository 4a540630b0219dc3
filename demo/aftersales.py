"""The after-sales chapter of the demo shop: refunds of cancelled orders settled by Finance, returns
in every state (with an exchange, a repair and a late return a manager let in), complaint tickets,
and customers' ratings. Like the rest of the demo, everything goes through the services; the rows
each step writes are then moved to the step's moment in the demo's past."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from aftersales import services as aftersales
from aftersales.models import (
    Feedback,
    Outcome,
    ReturnReason,
    ReturnRequest,
    Ticket,
)
from aftersales.services import tickets
from aftersales.services.feedback import feedback_token, give_feedback
from orders import services as orders
from orders.models import Order, Refund

from .timeline import move, moving

Status = Order.Status
Category, Severity = Ticket.Category, Ticket.Severity

# Where each case stops: (how far, wanted outcome, reason of its lines, the customer's words).
RETURNS = [
    ("requested", Outcome.REFUND, ReturnReason.CHANGED_MIND, "颜色和图片不一样，想退货"),
    ("requested", Outcome.EXCHANGE, ReturnReason.NOT_AS_DESCRIBED, "尺码偏小，想换大一码"),
    ("rejected", Outcome.REFUND, ReturnReason.CHANGED_MIND, "不想要了"),
    ("approved", Outcome.REFUND, ReturnReason.QUALITY, "茶叶有受潮结块"),
    ("received", Outcome.REFUND, ReturnReason.WRONG_ITEM, "发错了型号"),
    ("inspected", Outcome.REFUND, ReturnReason.DAMAGED_IN_TRANSIT, "到货时外箱破损，杯子碎了一只"),
    ("refunded", Outcome.REFUND, ReturnReason.DAMAGED_IN_TRANSIT, "瓷器磕碰掉瓷"),
    ("refunded", Outcome.REFUND, ReturnReason.WRONG_ITEM, "收到的是别的颜色"),
    ("exchanged", Outcome.EXCHANGE, ReturnReason.WRONG_ITEM, "发成了黑色，想换白色"),
    ("repaired", Outcome.REPAIR, ReturnReason.QUALITY, "用了两天不通电"),
]
REJECTION = "商品已拆封使用，不符合七天无理由退货条件"
LATE_RETURN = ("收货已超过七天，但属质量问题，经理同意按保修处理", ReturnReason.QUALITY, "壶盖有裂纹")
REFUND_SETTLEMENTS = ["paid"] * 20 + ["approved"] * 3 + ["failed"]
FAILED_REFUND = "客户支付宝账户已注销，退款被退回"
RATINGS = [5] * 24 + [4] * 12 + [3] * 5 + [2, 1]
COMMENTS = {
    5: ["包装很用心，物流也快", "茶叶很香，会回购", "质量很好，和描述一致", ""],
    4: ["东西不错，快递稍慢", "整体满意", ""],
    3: ["一般，包装有点简陋", "送货时间比预计晚了两天"],
    2: ["杯子有一只有小瑕疵，客服回复慢"],
    1: ["等了一周才到，外箱破了"],
}
TICKETS = [
    ("物流太慢，催了三次", Category.LATE_DELIVERY, Severity.NORMAL, "in_progress", "客户说快递三天没有更新"),
    ("收到的瓷器有裂纹", Category.DAMAGE, Severity.HIGH, "waiting_customer", "请客户补拍外箱和商品照片"),
    ("发错货，急用", Category.WRONG_ITEM, Severity.URGENT, "open", "客户明天要送礼，要求今天解决"),
    ("茶叶有异味", Category.QUALITY, Severity.NORMAL, "closed", "客户反映新到的铁观音有烟味"),
    ("客服电话一直占线", Category.SERVICE, Severity.NORMAL, "open", ""),
]
ROOT_CAUSE = "仓库同一库位混放了新旧两批货，旧批次存放时受潮"
CORRECTIVE_ACTION = "旧批次全部下架隔离；库位按批次分开，入库时检查防潮包装"

# What the after-sales services stamp with the present, moved after each step (demo/timeline.py).
MOVING = [
    moving(table, stamp, of_order="")
    for table, stamps in [
        (
            "aftersales_returnrequest",
            ["created_at", "approved_at", "received_at", "inspected_at", "resolved_at", "closed_at"],
        ),
        ("aftersales_returnevent", ["created_at"]),
        ("aftersales_ticketevent", ["created_at"]),
        ("aftersales_ticketmessage", ["created_at"]),
        ("aftersales_feedback", ["created_at"]),
        ("inventory_stockmovement", ["created_at"]),
        ("orders_refund", ["requested_at", "approved_at", "settled_at"]),
        ("aftersales_ticket", ["created_at", "resolved_at", "closed_at", "first_response_at"]),
    ]
    for stamp in stamps
]


class AfterSalesStory:
    def __init__(self, command):
        self.command = command
        self.rng, self.users, self.started = command.rng, command.users, command.started
        self.limit = command.limit

    def tell(self):
        self.settle_cancellation_refunds()
        self.play_returns()
        self.play_tickets()
        self.collect_ratings()
        return (
            f"{ReturnRequest.objects.count()} returns, {Ticket.objects.count()} complaint tickets, "
            f"{Feedback.objects.count()} ratings, {Refund.objects.count()} refunds"
        )

    # --- refunds owed for cancelled orders ---

    def settle_cancellation_refunds(self):
        finance = self.users["finance"]
        owed = list(Refund.objects.filter(status=Refund.Status.REQUESTED).select_related("order").order_by("pk"))
        for refund, outcome in zip(owed, REFUND_SETTLEMENTS, strict=False):
            moment = self.clock_after(refund.requested_at, 2, 30)
            self.step(moment, orders.approve_refund, refund.pk, actor=finance)
            if outcome == "paid":
                self.step(
                    self.clock_after(moment, 1, 20),
                    orders.mark_refund_paid,
                    refund.pk,
                    actor=finance,
                    reference=f"退款流水 {self.rng.randrange(10**11, 10**12)}",
                )
            elif outcome == "failed":
                self.step(
                    self.clock_after(moment, 1, 20), orders.fail_refund, refund.pk, actor=finance, reason=FAILED_REFUND
                )

    # --- returns ---

    def returnable(self):
        """Delivered orders still within the return window."""
        window_start = timezone.now() - timedelta(days=settings.RETURN_WINDOW_DAYS) + timedelta(hours=6)
        return list(
            Order.objects.filter(status=Status.DELIVERED, delivered_at__gte=window_start).order_by("delivered_at", "pk")
        )

    def play_returns(self):
        candidates = self.returnable()
        self.rng.shuffle(candidates)
        for (stop, outcome, reason, words), order in zip(RETURNS, candidates, strict=False):
            self.play_return(order, stop, outcome, reason, words)
        late = (
            Order.objects.filter(status=Status.COMPLETED, lines__product__sku__startswith="CER").order_by("-pk").first()
        )
        if late:
            late_reason, reason, words = LATE_RETURN
            moment = self.clock_after(self.limit - timedelta(days=2), 0, 12)
            self.step(
                moment,
                aftersales.request_return,
                late.pk,
                lines=self.lines_of(late, reason, first_only=True),
                wanted_outcome=Outcome.REPAIR,
                actor=self.users["manager"],
                customer_note=words,
                late_reason=late_reason,
            )

    def lines_of(self, order, reason, *, first_only=False):
        lines = list(order.lines.order_by("pk"))[: 1 if first_only else None]
        return [aftersales.ReturnLineInput(line.pk, line.quantity, reason) for line in lines]

    def play_return(self, order, stop, outcome, reason, words):
        service, warehouse, manager = self.users["service"], self.users["warehouse"], self.users["manager"]
        moment = self.clock_after(order.delivered_at, 2, 40)
        case = self.step(
            moment,
            aftersales.request_return,
            order.pk,
            lines=self.lines_of(order, reason, first_only=True),
            wanted_outcome=outcome,
            actor=service,
            customer_note=words,
        )
        if stop == "requested":
            return
        moment = self.clock_after(moment, 0.5, 8)
        if stop == "rejected":
            self.step(moment, aftersales.reject_return, case.pk, reason=REJECTION, actor=service)
            return
        self.step(moment, aftersales.approve_return, case.pk, actor=service)
        if stop == "approved":
            return
        line = case.lines.get()
        shipment = order.shipments.order_by("pk").first()
        moment = self.clock_after(moment, 20, 60)
        self.step(
            moment,
            aftersales.receive_return,
            case.pk,
            warehouse_id=shipment.warehouse_id,
            received={line.pk: line.quantity},
            actor=warehouse,
        )
        if stop == "received":
            return
        damaged = 1 if reason == ReturnReason.DAMAGED_IN_TRANSIT else 0
        note = "外包装压损，商品破损" if damaged else "包装完好，可二次销售"
        moment = self.clock_after(moment, 1, 8)
        self.step(
            moment,
            aftersales.inspect_return,
            case.pk,
            results={line.pk: (line.quantity - damaged, damaged, note)},
            actor=warehouse,
        )
        if stop == "inspected":
            return
        moment = self.clock_after(moment, 1, 24)
        self.step(moment, aftersales.resolve_return, case.pk, outcome=outcome, actor=service)
        case.refresh_from_db()
        if case.replacement_order:
            self.command.backdate(
                case.replacement_order, moment, {"order", "events", "stock", "allocations", "notifications"}
            )
        if stop == "refunded":
            for refund in case.refunds.order_by("pk"):
                moment = self.clock_after(moment, 1, 12)
                self.step(moment, orders.approve_refund, refund.pk, actor=self.users["finance"])
                moment = self.clock_after(moment, 1, 12)
                self.step(
                    moment,
                    orders.mark_refund_paid,
                    refund.pk,
                    actor=self.users["finance"],
                    reference=f"原路退回 {self.rng.randrange(10**11, 10**12)}",
                )
            self.step(self.clock_after(moment, 1, 12), aftersales.close_return, case.pk, actor=manager)

    # --- complaints ---

    def play_tickets(self):
        service, manager = self.users["service"], self.users["manager"]
        orders_with_parcels = list(
            Order.objects.filter(status__in=[Status.SHIPPED, Status.DELIVERED, Status.COMPLETED]).order_by("-pk")[:40]
        )
        self.rng.shuffle(orders_with_parcels)
        for (subject, category, severity, stop, words), order in zip(TICKETS, orders_with_parcels, strict=False):
            # The urgent one came in a few hours ago and nobody has answered it: it is overdue.
            hours_ago = 6 if severity == Severity.URGENT else self.rng.uniform(20, 90)
            moment = min(timezone.now() - timedelta(hours=hours_ago), self.limit)
            ticket = self.step(
                moment,
                tickets.open_ticket,
                subject=subject,
                category=category,
                severity=severity,
                actor=service,
                description=words,
                order_id=order.pk,
                assigned_to_id=None if stop == "open" else service.pk,
            )
            if stop == "open":
                continue
            moment = self.clock_after(moment, 0.5, 3)
            self.step(moment, tickets.start, ticket.pk, actor=service)
            self.step(
                moment,
                tickets.add_note,
                ticket.pk,
                text="已电话联系客户，客户同意等待处理结果",
                actor=service,
                answered_customer=True,
            )
            if stop == "in_progress":
                continue
            if stop == "waiting_customer":
                self.step(self.clock_after(moment, 0.5, 3), tickets.wait_for_customer, ticket.pk, actor=service)
                continue
            moment = self.clock_after(moment, 4, 30)
            self.step(
                moment,
                tickets.resolve,
                ticket.pk,
                root_cause=ROOT_CAUSE,
                corrective_action=CORRECTIVE_ACTION,
                actor=manager,
            )
            self.step(self.clock_after(moment, 2, 24), tickets.close, ticket.pk, actor=manager)

    # --- ratings ---

    def collect_ratings(self):
        rated = list(Order.objects.filter(status__in=[Status.DELIVERED, Status.COMPLETED]).order_by("pk"))
        self.rng.shuffle(rated)
        for rating, order in zip(RATINGS, rated, strict=False):
            comment = self.rng.choice(COMMENTS[rating])
            self.step(
                self.clock_after(order.delivered_at, 3, 72),
                give_feedback,
                feedback_token(order),
                rating=rating,
                comment=comment,
            )

    # --- time ---

    def clock_after(self, moment, low_hours, high_hours):
        """A moment some hours after `moment`, always before the demo's present."""
        step = timedelta(hours=self.rng.uniform(low_hours, high_hours))
        if moment + step >= self.limit:
            step = (self.limit - moment) * self.rng.uniform(0.2, 0.6)
        return moment + step

    def step(self, moment, service, *args, **kwargs):
        """Run one service, then move what it wrote stamped with the present to `moment`."""
        result = service(*args, **kwargs)
        move(MOVING, moment=moment, started=self.started)
        for ticket in Ticket.objects.filter(created_at=moment):
            Ticket.objects.filter(pk=ticket.pk).update(respond_by=tickets.response_deadline(moment, ticket.severity))
        return result
