"""Reading orders from spreadsheets we did not design: the order reports marketplaces let sellers
download (Taobao/Tmall, JD, Pinduoduo, Douyin) and other systems' exports. A person (or a built-in
profile, `marketplaces`) says once which of a file's columns means which of our fields and which of
its words mean which payment method, status and delivery; `MappedTable` then reads any file of
that shape into the template's columns (`ORDER_COLUMNS`), so the order import's own reader, checks
and intake take over unchanged.

A profile is a plain dict so it can be stored as JSON and exported to another shop:

    {"format": "ordercycle.import-profile", "version": 1, "name": ...,
     "files": {"orders": {"columns": {header: field}}, "items": {"columns": {...}}},
     "values": {"payment_method": {word: code}, "status": {word: import|unpaid|skip},
                "delivery": {word: express|standard}},
     "order_amount_includes_shipping": bool, "payment_method": code}

`files.items` is only for marketplaces that split their report in two (Taobao's order report and
item report, joined by order number). Headers and words are compared as `cells.comparable` gives
them, so case, spaces and full-width forms do not matter. Nothing here touches the database."""

import re
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.spreadsheets import reading
from core.spreadsheets.cells import CellError, amount, comparable, folded, is_blank, moment, number_text, text

from ..models import PaymentMethod
from .columns import ORDER_COLUMNS

FORMAT = "ordercycle.import-profile"
VERSION = 1
ORDER, LINE = "order", "line"
NOT_IMPORTED = ""
ORDERS_FILE, ITEMS_FILE = "orders", "items"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Field:
    """What a column of someone else's file can mean to us: order-level fields have one value per
    order (repeated on each item row, or once in an orders file), line-level ones one per item."""

    key: str
    label: object
    level: str
    required: bool = False


FIELDS = (
    Field("channel_order_id", gettext_lazy("Order number"), ORDER, required=True),
    Field("order_date", gettext_lazy("Order date"), ORDER),
    Field("recipient", gettext_lazy("Recipient"), ORDER, required=True),
    Field("phone", gettext_lazy("Phone"), ORDER, required=True),
    Field("full_address", gettext_lazy("Full address (province, city, district and street in one cell)"), ORDER),
    Field("province", gettext_lazy("Province"), ORDER),
    Field("city", gettext_lazy("City"), ORDER),
    Field("district", gettext_lazy("District"), ORDER),
    Field("address", gettext_lazy("Street address"), ORDER),
    Field("postcode", gettext_lazy("Postcode"), ORDER),
    Field("shipping_fee", gettext_lazy("Shipping fee"), ORDER),
    Field("discount", gettext_lazy("Discount"), ORDER),
    Field("order_amount", gettext_lazy("Order amount (what the buyer pays for the order)"), ORDER),
    Field("paid_amount", gettext_lazy("Amount paid"), ORDER),
    Field("payment_method", gettext_lazy("Payment method"), ORDER),
    Field("status", gettext_lazy("Order status"), ORDER),
    Field("delivery", gettext_lazy("Shipping method or carrier"), ORDER),
    Field("note", gettext_lazy("Note"), ORDER),
    Field("sku", gettext_lazy("SKU"), LINE, required=True),
    Field("quantity", gettext_lazy("Quantity"), LINE, required=True),
    Field("unit_price", gettext_lazy("Unit price"), LINE),
    Field("line_amount", gettext_lazy("Line amount (price of the whole line)"), LINE),
)
FIELDS_BY_KEY = {field.key: field for field in FIELDS}
# The address is one cell or three columns, never both.
SPLIT_ADDRESS = ("province", "city", "address")
ADDRESS_PARTS = ("province", "city", "district", "address")

IMPORT, UNPAID, SKIP = "import", "unpaid", "skip"
EXPRESS, STANDARD = "express", "standard"
VALUE_TARGETS = {
    "payment_method": tuple(PaymentMethod.values),
    "status": (IMPORT, UNPAID, SKIP),
    "delivery": (EXPRESS, STANDARD),
}
# Our template's key for each field whose value passes through as written.
PASSED_ON = {
    "channel_order_id": "channel_order_id",
    "order_date": "order_date",
    "recipient": "recipient",
    "phone": "phone",
    "province": "province",
    "city": "city",
    "district": "district",
    "address": "address",
    "full_address": "address",
    "postcode": "postcode",
    "shipping_fee": "shipping_fee",
    "note": "note",
    "sku": "sku",
    "quantity": "quantity",
}
# Marketplaces write long numbers as ="123…", or after an apostrophe or a tab, so Excel keeps
# them as text; the guard is not part of the value.
EXCEL_TEXT_GUARD = re.compile(r'^=\s*"(?P<value>.*)"$', re.DOTALL)
GUARDED_FIELDS = ("channel_order_id", "phone", "sku", "postcode")


def words(written):
    """A list of words written one after another, as the tables below are."""
    return tuple(written.split("|"))


def field_label(key):
    return str(FIELDS_BY_KEY[key].label) if key in FIELDS_BY_KEY else key


def _target_list(field):
    return ", ".join(VALUE_TARGETS[field])


# --- Checking a profile ---------------------------------------------------------------------------


def validate_profile(profile) -> list[str]:
    """What is wrong with a profile a person made or imported, one sentence each, naming the header,
    field or word; an empty list for a profile `MappedTable` can read with."""
    if not isinstance(profile, dict):
        return [_("An import profile is a JSON object (a dict); this is not one.")]
    messages = []
    if profile.get("format") != FORMAT or profile.get("version") != VERSION:
        messages.append(
            _("This is not an OrderCycle import profile of version %(version)s (format “%(format)s”).")
            % {"version": VERSION, "format": FORMAT}
        )
    if not str(profile.get("name") or "").strip():
        messages.append(_("Give the profile a name."))
    files = profile.get("files")
    if not isinstance(files, dict) or not files:
        return [*messages, _("The profile maps no file: it needs “files” with an orders file.")]
    for name in files:
        if name not in (ORDERS_FILE, ITEMS_FILE):
            messages.append(
                _("Unknown file “%(name)s”: a profile has an orders file and may have an items file.") % {"name": name}
            )
    if ITEMS_FILE in files and ORDERS_FILE not in files:
        messages.append(
            _("The profile has an items file but no orders file: the items are joined to their orders by order number.")
        )
    mapped = {}  # field -> [(file, header)]
    for file_key in (ORDERS_FILE, ITEMS_FILE):
        if file_key in files:
            messages.extend(_check_file(file_key, files[file_key], mapped, two_files=ITEMS_FILE in files))
    messages.extend(_check_fields(profile, mapped, two_files=ITEMS_FILE in files))
    messages.extend(_check_values(profile))
    return messages


def _file_name(file_key):
    return _("orders file") if file_key == ORDERS_FILE else _("items file")


def _check_file(file_key, spec, mapped, *, two_files):
    columns = spec.get("columns") if isinstance(spec, dict) else None
    if not isinstance(columns, dict):
        return [_("The %(file)s lists no columns.") % {"file": _file_name(file_key)}]
    messages, seen = [], {}
    for header, field in columns.items():
        if not str(header).strip():
            messages.append(_("The %(file)s has a column without a header.") % {"file": _file_name(file_key)})
            continue
        if comparable(header) in seen:
            messages.append(
                _("The header “%(header)s” is listed twice in the %(file)s (also as “%(other)s”).")
                % {"header": header, "other": seen[comparable(header)], "file": _file_name(file_key)}
            )
            continue
        seen[comparable(header)] = header
        if field == NOT_IMPORTED:
            continue
        if field not in FIELDS_BY_KEY:
            messages.append(
                _("The column “%(header)s” is mapped to “%(field)s”, which is not a field an order has.")
                % {"header": header, "field": field}
            )
            continue
        level = FIELDS_BY_KEY[field].level
        if two_files and field != "channel_order_id":
            belongs = ITEMS_FILE if level == LINE else ORDERS_FILE
            if belongs != file_key:
                messages.append(
                    _("The column “%(header)s” (%(field)s) is in the %(file)s, but %(field)s belongs in the %(other)s.")
                    % {
                        "header": header,
                        "field": field_label(field),
                        "file": _file_name(file_key),
                        "other": _file_name(belongs),
                    }
                )
        mapped.setdefault(field, []).append((file_key, header))
    if file_key == ITEMS_FILE and not any(f == "channel_order_id" for f in columns.values()):
        messages.append(
            _("The items file needs its order number column mapped to “%(field)s”: it joins each item to its order.")
            % {"field": field_label("channel_order_id")}
        )
    return messages


def _check_fields(profile, mapped, *, two_files):
    messages = []
    for field, places in mapped.items():
        # The order number is the join key, so an orders file and an items file each have one.
        per_file = Counter(file_key for file_key, _header in places)
        if field == "channel_order_id" and all(count == 1 for count in per_file.values()):
            continue
        if len(places) > 1:
            messages.append(
                _("“%(first)s” and “%(second)s” are both mapped to %(field)s; map one of them to “not imported”.")
                % {"first": places[0][1], "second": places[1][1], "field": field_label(field)}
            )
    for field in FIELDS:
        if field.required and field.key not in mapped:
            messages.append(_("Map a column to %(field)s: the import needs it.") % {"field": field_label(field.key)})
    split = [key for key in ADDRESS_PARTS if key in mapped]
    if "full_address" in mapped and split:
        messages.append(
            _("The address is mapped both as one cell (“%(full)s”) and in parts (“%(part)s”); map one or the other.")
            % {"full": mapped["full_address"][0][1], "part": mapped[split[0]][0][1]}
        )
    elif "full_address" not in mapped and not all(key in mapped for key in SPLIT_ADDRESS):
        missing = [field_label(key) for key in SPLIT_ADDRESS if key not in mapped]
        messages.append(
            _(
                "Map the address: one column to %(full)s, or columns to province, city and street (missing: %(missing)s)."
            )
            % {"full": field_label("full_address"), "missing": ", ".join(missing)}
        )
    default = profile.get("payment_method")
    if default not in (None, "") and default not in VALUE_TARGETS["payment_method"]:
        messages.append(
            _("The payment method “%(method)s” is not one of %(codes)s.")
            % {"method": default, "codes": _target_list("payment_method")}
        )
    if "payment_method" not in mapped and not default:
        messages.append(_("Map a column to the payment method, or choose the payment method of every order."))
    if not isinstance(profile.get("order_amount_includes_shipping", True), bool):
        messages.append(_("“order_amount_includes_shipping” is true or false."))
    return messages


def _check_values(profile):
    values = profile.get("values", {})
    if not isinstance(values, dict):
        return [_("“values” maps each field's words to our values; this one is not a mapping.")]
    messages = []
    for field, words in values.items():
        if field not in VALUE_TARGETS:
            messages.append(
                _("Values are mapped for “%(field)s”; only the payment method, status and delivery have words to map.")
                % {"field": field}
            )
            continue
        if not isinstance(words, dict):
            messages.append(_("The words of %(field)s are not a mapping.") % {"field": field_label(field)})
            continue
        for word, target in words.items():
            if target not in VALUE_TARGETS[field]:
                messages.append(
                    _("The %(field)s “%(word)s” is mapped to “%(target)s”, which is not one of %(targets)s.")
                    % {"field": field_label(field), "word": word, "target": target, "targets": _target_list(field)}
                )
    return messages


# --- Which file is which --------------------------------------------------------------------------


def headers_of(content, file_name) -> list[str]:
    """The header row of an uploaded file, as written (empty cells as "")."""
    for _number, cells in reading.rows(content, file_name):
        return [text(cell) for cell in cells]
    return []


def _mapped_headers(spec):
    return [header for header, field in spec["columns"].items() if field != NOT_IMPORTED]


def _missing(spec, headers):
    present = {comparable(header) for header in headers}
    return [header for header in _mapped_headers(spec) if comparable(header) not in present]


def assign_files(profile, headers_by_upload) -> dict | None:
    """Which uploaded file is the profile's orders file and which its items file, told by their
    headers: {"orders": index, "items": index} into `headers_by_upload` (a header row per uploaded
    file, in upload order), or None when the uploads do not fit the profile's files."""
    file_keys = [key for key in (ORDERS_FILE, ITEMS_FILE) if key in profile["files"]]
    if len(headers_by_upload) != len(file_keys):
        return None
    orders = [
        index for index, headers in enumerate(headers_by_upload) if not _missing(profile["files"][ORDERS_FILE], headers)
    ]
    if len(file_keys) == 1:
        return {ORDERS_FILE: 0} if orders else None
    items = [
        index for index, headers in enumerate(headers_by_upload) if not _missing(profile["files"][ITEMS_FILE], headers)
    ]
    for orders_index in orders:
        for items_index in items:
            if orders_index != items_index:
                return {ORDERS_FILE: orders_index, ITEMS_FILE: items_index}
    return None


def missing_headers(profile, headers_by_upload) -> list[str] | None:
    """The headers the profile maps that these uploads lack, when they are most of the way to being
    its files (the same number of files, at least half of each file's mapped headers present): a
    marketplace that changed its report. None when the uploads are not near this profile at all."""
    file_keys = [key for key in (ORDERS_FILE, ITEMS_FILE) if key in profile["files"]]
    if len(headers_by_upload) != len(file_keys):
        return None
    missing = []
    for key in file_keys:
        spec = profile["files"][key]
        nearest = min((_missing(spec, headers) for headers in headers_by_upload), key=len)
        if len(nearest) * 2 > len(_mapped_headers(spec)):
            return None
        missing.extend(nearest)
    return missing


def fits_file(profile, file_key, headers) -> bool:
    """Whether one uploaded file (its header row) is the profile's `file_key` file."""
    return file_key in profile["files"] and not _missing(profile["files"][file_key], headers)


def matches(profile, headers_by_upload) -> bool:
    """Whether the uploaded files (a header row each) are the files this profile reads: every
    header the profile maps is present, in the file it belongs to."""
    return assign_files(profile, headers_by_upload) is not None


# --- Suggesting a mapping -------------------------------------------------------------------------

# Headers people and systems write, by meaning; the template's own headers and the built-in
# profiles' headers are added to these when the table is built.
SYNONYMS = {
    "channel_order_id": words(
        "订单号|订单编号|主订单编号|平台订单号|单号|order no|order no.|order id|order number|order #|order"
    ),
    "order_date": words(
        "下单时间|订单创建时间|创建时间|订单提交时间|成交时间|order date|date|created|created at|order time"
    ),
    "recipient": words("收件人|收货人|收货人姓名|收件人姓名|consignee|recipient|receiver|ship to|ship to name|name"),
    "phone": words("手机|手机号|手机号码|电话|联系电话|联系手机|收件人手机号|mobile|phone|tel|telephone|cell"),
    "full_address": words("收货地址|收件地址|完整地址|full address|shipping address"),
    "province": words("省|省份|province|state"),
    "city": words("市|城市|city"),
    "district": words("区|区县|县区|district|county"),
    "address": words("详细地址|街道地址|street|address|address 1|address line 1"),
    "postcode": words("邮编|邮政编码|postcode|post code|zip|zip code|postal code"),
    "shipping_fee": words("运费|邮费|shipping|shipping fee|freight|postage"),
    "discount": words("优惠|折扣|优惠金额|discount"),
    "order_amount": words("订单金额|应付金额|总金额|实付金额|order total|order amount|total"),
    "paid_amount": words("已付金额|已付|paid|amount paid|paid amount"),
    "payment_method": words("支付方式|付款方式|payment|payment method"),
    "status": words("订单状态|状态|status|order status"),
    "delivery": words("运送方式|配送方式|快递|物流公司|快递公司|carrier|shipping method|delivery"),
    "note": words("备注|买家留言|留言|note|notes|remark|comment|message"),
    "sku": words("sku|商家编码|货号|商品编码|货品编码|规格编码|item code|product code|seller sku"),
    "quantity": words("数量|购买数量|qty|quantity|件数"),
    "unit_price": words("单价|价格|price|unit price"),
    "line_amount": words("小计|商品总价|金额|subtotal|line total|line amount|amount"),
}
# Words inside a header, most telling first: a header naming a tracking number or a sub-order is
# not the order number, one naming a phone is not the recipient (收件人手机).
NOT_A_FIELD_WORDS = (
    "物流单号",
    "快递单号",
    "运单号",
    "子订单",
    "tracking",
    "waybill",
    "商品id",
    "product id",
    "sku id",
)
KEYWORDS = (
    ("postcode", words("邮编|邮政编码|postcode|zip|postal")),
    ("payment_method", words("支付方式|付款方式|payment method|pay method")),
    ("status", words("状态|status")),
    ("delivery", words("运送方式|配送方式|快递公司|物流公司|carrier|shipping method|delivery method")),
    ("channel_order_id", words("订单号|订单编号|order no|order id|order number|order #|order ref")),
    ("phone", words("手机|电话|mobile|phone|tel")),
    ("recipient", words("收件人|收货人|consignee|recipient|receiver")),
    ("full_address", words("地址|address|addr")),
    ("quantity", words("数量|qty|quantity")),
    ("line_amount", words("总价|小计|subtotal|line total|line amount")),
    ("unit_price", words("单价|价格|price")),
    ("shipping_fee", words("运费|邮费|shipping|freight|postage")),
    ("discount", words("优惠|折扣|discount|coupon")),
    ("paid_amount", words("实付|已付|实际支付|paid")),
    ("order_amount", words("应付|订单金额|总金额|order total|order amount|total")),
    ("order_date", words("下单|创建时间|成交时间|提交时间|付款时间|时间|日期|date|time|created")),
    ("note", words("留言|备注|note|remark|message|comment")),
    ("sku", words("编码|sku|货号|item code|product code")),
)
EXACT, KEYWORD, VALUES = 3, 2, 1

PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
    "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
    "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)  # fmt: skip
# A mainland mobile as written, masked or not: 13800138000, 138 0013 8000, 138****8000, 1**********.
MOBILE = re.compile(r"^(?:\+?86[ -]?)?1[3-9*][\d*][ -]?[\d*]{4}[ -]?[\d*]{4}$")


def _synonyms():
    """Every known header as compared, with its field: the hand-written words first, then the
    template's headers, then the built-in profiles' headers."""
    from .marketplaces import BUILT_IN_PROFILES

    found = {}
    for field, words in SYNONYMS.items():
        for word in words:
            found.setdefault(comparable(word), field)
    for column in ORDER_COLUMNS:
        if column.key in FIELDS_BY_KEY:
            for header in column.headers():
                found.setdefault(comparable(header), column.key)
    for profile in BUILT_IN_PROFILES:
        for spec in profile["files"].values():
            for header, field in spec["columns"].items():
                if field != NOT_IMPORTED:
                    found.setdefault(comparable(header), field)
    return found


def _by_keyword(header):
    written = comparable(header)
    if any(word in written for word in NOT_A_FIELD_WORDS):
        return None
    for field, words in KEYWORDS:
        if any(word in written for word in words):
            return field
    return None


def looks_like_full_address(value):
    """Whether a cell holds a whole address (province, city and the rest), as one report column."""
    written = text(value).replace(" ", "")
    if len(written) < 6:
        return False
    starts_with_province = written.startswith(PROVINCES)
    return starts_with_province or ("省" in written and ("市" in written or "区" in written))


def _looks_like_phone(value):
    return bool(MOBILE.match(folded(text(value))))


def _looks_like_date(value):
    if is_blank(value) or isinstance(value, (int, float)):
        return False
    try:
        moment(value)
    except (CellError, ValueError, OverflowError):
        return False
    return True


def _by_values(samples):
    values = [value for value in samples if not is_blank(value)]
    if not values:
        return None
    for test, field in (
        (_looks_like_phone, "phone"),
        (looks_like_full_address, "full_address"),
        (_looks_like_date, "order_date"),
    ):
        if all(test(value) for value in values):
            return field
    for field in ("status", "payment_method", "delivery"):
        if all(_value_by_words(field, text(value)) for value in values):
            return field
    return None


def suggest(headers, samples=None) -> dict:
    """A field for each column of a file, from its header (English and Chinese, the template's and
    the marketplaces' headers, common words) or, where the header says nothing, from its sample
    values (`samples`: {header: [values]}). Every header is in the answer, "" for "not imported";
    no field is given to two columns: the surer match keeps it, then the column further left."""
    samples = samples or {}
    synonyms = _synonyms()
    guesses = []
    for position, header in enumerate(headers):
        if not str(header or "").strip():
            continue
        field, score = synonyms.get(comparable(header)), EXACT
        if field is None:
            field, score = _by_keyword(header), KEYWORD
        if field is None:
            field, score = _by_values(samples.get(header, [])), VALUES
        if field in ("address", "full_address"):
            field = _address_kind(header, samples.get(header, []), headers, synonyms)
        if field:
            guesses.append((score, -position, header, field))
    chosen, taken = dict.fromkeys(headers, NOT_IMPORTED), set()
    for _score, _position, header, field in sorted(guesses, reverse=True):
        if field not in taken:
            chosen[header] = field
            taken.add(field)
    return chosen


def _address_kind(header, samples, headers, synonyms):
    """An address column is the street when the file has province and city columns or its cells
    hold only the street, and the whole address when its cells start with the province."""
    has_parts = {"province", "city"} <= {synonyms.get(comparable(other)) for other in headers if other != header}
    values = [value for value in samples if not is_blank(value)]
    if values and not has_parts:
        return "full_address" if all(looks_like_full_address(value) for value in values) else "address"
    if has_parts:
        return "address"
    return synonyms.get(comparable(header)) or "full_address"


def read_samples(content, file_name, *, rows=20) -> tuple[list, dict]:
    """A file's header row and up to `rows` values under each header, for `suggest`."""
    table = reading.rows(content, file_name)
    _number, header = next(table, (None, ()))
    headers = [text(cell) for cell in header]
    samples = {name: [] for name in headers}
    for count, (_number, cells) in enumerate(table):
        if count >= rows:
            break
        for position, name in enumerate(headers):
            if position < len(cells):
                samples[name].append(cells[position])
    return headers, samples


def distinct_values(content, file_name, header, *, limit=200) -> list[str]:
    """The distinct words of one column (the payment method, status or delivery column), most
    frequent first, for the mapping page to ask what each means."""
    table = reading.rows(content, file_name)
    _number, cells = next(table, (None, ()))
    positions = [position for position, cell in enumerate(cells) if comparable(cell) == comparable(header)]
    if not positions:
        return []
    counts = Counter()
    for _number, row in table:
        if positions[0] < len(row) and not is_blank(row[positions[0]]):
            counts[_unguarded(text(row[positions[0]]))] += 1
    return [word for word, _count in counts.most_common(limit)]


# Words marketplaces and people use, in the order they are tried: the first whose word is inside
# the written value wins (退款成功 is closed before 成功 would say done; 等待买家付款 is unpaid
# before 付款 would say paid).
VALUE_WORDS = {
    "payment_method": (
        (PaymentMethod.COD, words("货到付款|cod|cash on delivery")),
        (PaymentMethod.INSTALMENTS, words("分期|instalment|installment")),
        (PaymentMethod.BANK_TRANSFER, words("转账|汇款|bank transfer|wire")),
        (PaymentMethod.CARD, words("银行卡|信用卡|借记卡|card|visa|mastercard|银联")),
        (
            PaymentMethod.E_WALLET,
            words(
                "支付宝|微信|花呗|抖音支付|云闪付|在线支付|多多支付|月付|放心花|京东支付|白条|alipay|wechat|wallet|paypal"
            ),
        ),
    ),
    "status": (
        (SKIP, words("关闭|取消|删除|退款成功|cancel|closed|refunded")),
        (UNPAID, words("等待买家付款|待付款|待支付|未付款|unpaid|awaiting payment|pending payment")),
        (IMPORT, words("等待卖家发货|待发货|买家已付款|已付款|等待出库|备货中|待出库|paid|to ship|awaiting shipment")),
        (SKIP, words("已发货|卖家已发货|交易成功|已完成|完成|已签收|等待确认收货|shipped|delivered|completed")),
    ),
    "delivery": (
        (EXPRESS, words("顺丰|sf|京东物流|京东快递|express|加急|次日达|当日达|特快")),
        (STANDARD, words("快递|物流|中通|圆通|申通|韵达|极兔|百世|德邦|邮政|ems|平邮|standard|economy")),
    ),
}


def _value_by_words(field, word):
    written = comparable(word)
    if not written:
        return None
    for target, words in VALUE_WORDS[field]:
        if any(comparable(candidate) in written for candidate in words):
            return target
    return None


def suggest_values(field, words) -> dict:
    """A target for each word of a payment method, status or delivery column ("" when nothing
    fits): 支付宝 is an e-wallet, 交易关闭 is skipped, 顺丰 is express, and so on; a carrier not
    known for next-day delivery is standard."""
    fallback = STANDARD if field == "delivery" else ""
    return {word: _value_by_words(field, word) or fallback for word in words}


# --- Reading a file through a profile -------------------------------------------------------------


def _unguarded(value):
    written = value.strip() if isinstance(value, str) else value
    if isinstance(written, str):
        match = EXCEL_TEXT_GUARD.match(written)
        if match:
            written = match["value"].strip()
    return written


def _cleaned_identifier(value):
    """An order number, phone or code as the marketplace meant it: without the ="…", apostrophe or
    tab it wrote to stop Excel rounding it. A number Excel already rounded is left for the order
    reader (`cells.identifier`) to refuse."""
    written = _unguarded(value)
    if isinstance(written, str):
        written = written.lstrip("'\t").strip()
    return written


def _money_text(value):
    return format(value.quantize(CENT), "f")


@dataclass
class _Source:
    """One uploaded file as the profile reads it."""

    key: str
    file_name: str
    header_row: int
    positions: dict  # field -> position
    headers: dict  # field -> header as the file writes it
    rows: object


@dataclass
class _Line:
    number: int
    fields: dict  # field -> raw cell
    order_fields: dict  # field -> raw cell (the orders file's row, or the row itself)
    status: str = IMPORT


class MappedTable:
    """Uploaded files read through a profile, in the shape `reading.Table` has for the order
    import's reader: `problems`, `count` (rows read), `names` ({template key: header as the file
    writes it, with the file's name when there are two}) and iteration giving (row number,
    {template key: value}) for each item row to import. Rows whose status the profile skips are
    left out and counted by status word in `skipped_by_status`. Problems of the headers (a mapped
    column missing, an items file without its orders file) are found before any row is read; then
    there are no rows."""

    def __init__(self, files, profile, channel_code, problems, *, max_rows):
        self.profile, self.channel_code, self.problems, self.max_rows = profile, channel_code, problems, max_rows
        self.count, self.names, self.skipped_by_status, self.orders_rows = 0, {}, Counter(), {}
        self.includes_shipping = profile.get("order_amount_includes_shipping", True)
        self.values = {
            field: {comparable(word): target for word, target in words.items()}
            for field, words in profile.get("values", {}).items()
        }
        self.sources = self._open(files)
        self.readable = self.sources is not None
        if self.readable:
            self._name_columns()

    @property
    def profile_name(self):
        return str(self.profile.get("name") or "")

    # The files and their headers.

    def _open(self, files):
        uploads = []
        for file_name, content in files:
            try:
                table = reading.rows(content, file_name)
                header_row, header = next(table, (None, None))
            except reading.UnreadableFile as error:
                self.problems.add(None, "", f"{file_name}: {error}")
                return None
            if header is None:
                self.problems.add(None, "", _("The file “%(name)s” is empty.") % {"name": file_name})
                return None
            uploads.append((file_name, header_row, [text(cell) for cell in header], table))
        assigned = assign_files(self.profile, [headers for _name, _row, headers, _table in uploads])
        if assigned is None:
            self._report_unfitting(uploads)
            return None
        sources = {}
        for key, index in assigned.items():
            file_name, header_row, headers, table = uploads[index]
            spec = self.profile["files"][key]["columns"]
            by_header = {comparable(header): field for header, field in spec.items() if field != NOT_IMPORTED}
            positions, names = {}, {}
            for position, header in enumerate(headers):
                field = by_header.get(comparable(header))
                if field and field not in positions:
                    positions[field], names[field] = position, header
            sources[key] = _Source(key, file_name, header_row, positions, names, table)
        return sources

    def _report_unfitting(self, uploads):
        """Say why the uploads do not fit the profile: which file lacks which mapped header, or
        that the items file came without its orders file."""
        files = self.profile["files"]
        names = ", ".join(f"“{name}”" for name, *_rest in uploads)
        if ITEMS_FILE in files and len(uploads) == 1 and not _missing(files[ITEMS_FILE], uploads[0][2]):
            self.problems.add(
                uploads[0][1],
                "",
                _("“%(name)s” is the items file of the profile “%(profile)s”; upload it together with its orders file.")
                % {"name": uploads[0][0], "profile": self.profile_name},
            )
            return
        if len(uploads) != len(files):
            self.problems.add(
                None,
                "",
                _("The profile “%(profile)s” reads %(expected)s file(s); %(count)s were uploaded (%(names)s).")
                % {"profile": self.profile_name, "expected": len(files), "count": len(uploads), "names": names},
            )
            return
        keys = [ORDERS_FILE, ITEMS_FILE][: len(uploads)]
        if len(uploads) == 2 and len(_missing(files[ORDERS_FILE], uploads[1][2])) < len(
            _missing(files[ORDERS_FILE], uploads[0][2])
        ):
            keys.reverse()
        for key, (file_name, header_row, headers, _table) in zip(keys, uploads, strict=True):
            for header in _missing(files[key], headers):
                label = f"{file_name} › {header}"
                self.names[label] = label
                self.problems.add(
                    header_row,
                    label,
                    _(
                        "The column “%(header)s” is missing from “%(name)s”, but the profile “%(profile)s” reads it; the marketplace may have changed its report."
                    )
                    % {"header": header, "name": file_name, "profile": self.profile_name},
                )

    def _label(self, source, field):
        header = source.headers[field]
        return f"{source.file_name} › {header}" if len(self.sources) > 1 else header

    def _name_columns(self):
        keys = {**PASSED_ON, "payment_method": "payment_method", "paid_amount": "paid_amount", "discount": "discount"}
        keys.update({"unit_price": "unit_price", "status": "status", "delivery": "express"})
        keys.update({"order_amount": "order_amount", "line_amount": "line_amount"})
        line_source = self.sources.get(ITEMS_FILE) or self.sources[ORDERS_FILE]
        # The order number of an item row is named as the items file has it: that is where the row is.
        for source in [line_source, *(source for source in self.sources.values() if source is not line_source)]:
            for field in source.headers:
                self.names.setdefault(keys[field], self._label(source, field))
        # Derived amounts are named after the column they come from.
        derived = (
            ("unit_price", "line_amount"),
            ("discount", "order_amount"),
            ("discount", "line_amount"),
            ("paid_amount", "order_amount"),
        )
        for key, source_key in derived:
            if key not in self.names and source_key in self.names:
                self.names[key] = self.names[source_key]

    # Reading the rows.

    def __iter__(self):
        if not self.readable:
            return
        lines = self._read_lines()
        by_order = {}
        for line in lines:
            # A row without an order number is an order of its own, for the order reader to refuse.
            key = comparable(text(_cleaned_identifier(line.order_fields.get("channel_order_id")))) or line.number
            by_order.setdefault(key, []).append(line)
        rows = []
        for order_lines in by_order.values():
            rows.extend(self._order_rows(order_lines))
        yield from sorted(rows, key=lambda row: row[0])

    def _cells(self, source, cells):
        return {field: cells[position] for field, position in source.positions.items() if position < len(cells)}

    def _read_lines(self):
        orders_by_number = self._read_orders_file() if ITEMS_FILE in self.sources else None
        line_source = self.sources.get(ITEMS_FILE) or self.sources[ORDERS_FILE]
        lines, seen_orders = [], set()
        for number, cells in line_source.rows:
            self.count += 1
            if reading.past_limit(self.count, self.max_rows, number, self.problems):
                break
            fields = self._cells(line_source, cells)
            if orders_by_number is None:
                lines.append(_Line(number, fields, fields))
                continue
            order_number = text(_cleaned_identifier(fields.get("channel_order_id")))
            found = orders_by_number.get(comparable(order_number))
            if found is None:
                self.problems.add(
                    number,
                    "channel_order_id",
                    _(
                        "The order “%(number)s” is not in the orders file “%(name)s”; upload the orders file of the same period."
                    )
                    % {"number": order_number, "name": self.sources[ORDERS_FILE].file_name},
                )
                continue
            seen_orders.add(comparable(order_number))
            lines.append(_Line(number, fields, found[1]))
        if orders_by_number is not None and self.count <= self.max_rows:
            self._report_orders_without_items(orders_by_number, seen_orders)
        return lines

    def _read_orders_file(self):
        """The orders file's rows by order number, each with its row number."""
        source, found = self.sources[ORDERS_FILE], {}
        for number, cells in source.rows:
            fields = self._cells(source, cells)
            order_number = text(_cleaned_identifier(fields.get("channel_order_id")))
            if not order_number:
                continue
            if comparable(order_number) in found:
                self.problems.add(
                    None,
                    "",
                    _("The order “%(number)s” is in the orders file “%(name)s” twice (rows %(first)s and %(second)s).")
                    % {
                        "number": order_number,
                        "name": source.file_name,
                        "first": found[comparable(order_number)][0],
                        "second": number,
                    },
                )
                continue
            found[comparable(order_number)] = (number, fields)
            self.orders_rows[order_number] = number
        return found

    def _report_orders_without_items(self, orders_by_number, seen_orders):
        for key, (number, fields) in orders_by_number.items():
            if key in seen_orders or self._status_of(fields, number, report=False) == SKIP:
                continue
            self.problems.add(
                None,
                "",
                _("The order “%(number)s” (row %(row)s of “%(name)s”) has no items in the items file “%(items)s”.")
                % {
                    "number": text(_cleaned_identifier(fields.get("channel_order_id"))),
                    "row": number,
                    "name": self.sources[ORDERS_FILE].file_name,
                    "items": self.sources[ITEMS_FILE].file_name,
                },
            )

    def _status_of(self, fields, number, *, report=True):
        """import, unpaid or skip for a row's status word; a word the profile does not know is a
        problem (the marketplace changed its report) and the row is imported so its other
        problems show too."""
        if "status" not in self._mapped_fields():
            return IMPORT
        word = text(fields.get("status"))
        target = self.values.get("status", {}).get(comparable(word))
        if target is None and report:
            self.problems.add(
                number,
                "status",
                _(
                    "The status “%(word)s” in column “%(column)s” is not in the profile “%(profile)s”; the marketplace may have changed its report. Say in the profile whether to import, import as unpaid or skip it."
                )
                % {"word": word, "column": self.names.get("status", ""), "profile": self.profile_name},
            )
        return target or IMPORT

    def _mapped_fields(self):
        return {field for source in self.sources.values() for field in source.positions}

    def _order_rows(self, lines):
        """The rows of one order in the template's columns, with its amounts worked out."""
        if ITEMS_FILE in self.sources:
            # The orders file says the status once for all the order's items.
            status = self._status_of(lines[0].order_fields, lines[0].number)
            for line in lines:
                line.status = status
        else:
            for line in lines:
                line.status = self._status_of(line.order_fields, line.number)
        kept = [line for line in lines if line.status != SKIP]
        if not kept:
            self.skipped_by_status[text(lines[0].order_fields.get("status"))] += 1
            return []
        unpaid = any(line.status == UNPAID for line in kept)
        amounts = self._amounts(kept)
        rows = []
        for line in kept:
            row = {"channel": self.channel_code}
            for field, key in PASSED_ON.items():
                source_fields = line.fields if FIELDS_BY_KEY[field].level == LINE else line.order_fields
                if field in source_fields:
                    raw = source_fields[field]
                    row[key] = _cleaned_identifier(raw) if field in GUARDED_FIELDS else _unguarded(raw)
            if "full_address" in self._mapped_fields():
                row.update({"province": "", "city": "", "district": ""})
            row["payment_method"] = self._payment_method(line.order_fields)
            row["express"] = self._express(line.order_fields)
            if amounts is not None:
                row["unit_price"] = amounts["prices"][line.number]
                row["discount"] = amounts["discount"]
            else:
                # Without every price the order's discount cannot be worked out: the cells go on
                # as written, for the order reader to check.
                if "unit_price" in line.fields:
                    row["unit_price"] = line.fields["unit_price"]
                if "discount" in line.order_fields:
                    row["discount"] = line.order_fields["discount"]
            row["paid_amount"] = "0" if unpaid else self._paid(line.order_fields, amounts)
            rows.append((line.number, row))
        return rows

    def _payment_method(self, fields):
        """Our code for the row's payment word; a word the profile does not know goes on as
        written for the order reader to refuse (naming its column), and a profile without a
        payment column pays every order its own way (through the marketplace)."""
        word = text(fields.get("payment_method"))
        if not word:
            return self.profile.get("payment_method") or ""
        return self.values.get("payment_method", {}).get(comparable(word), word)

    def _express(self, fields):
        word = text(fields.get("delivery"))
        if not word:
            return ""
        target = self.values.get("delivery", {}).get(comparable(word)) or _value_by_words("delivery", word)
        return "yes" if target == EXPRESS else ""

    def _read_amount(self, line, field, fields):
        try:
            return amount(fields.get(field))
        except CellError as error:
            self.problems.add(line.number, field, str(error))
            raise

    def _amounts(self, lines):
        """Each line's unit price and the order's discount, so the order's total is what the buyer
        pays: a line amount is divided by the quantity (to the cent, the rounding kept in the
        discount), and an order amount makes the discount whatever lines and shipping exceed it.
        None when the profile maps no price, or a cell could not be read (its problem is noted)."""
        mapped = self._mapped_fields()
        if not {"unit_price", "line_amount"} & mapped:
            return None
        prices, lines_total, adjustment = {}, Decimal("0"), Decimal("0")
        try:
            for line in lines:
                quantity = _quantity(line.fields.get("quantity"))
                unit = self._read_amount(line, "unit_price", line.fields)
                line_amount = self._read_amount(line, "line_amount", line.fields)
                if unit is None and line_amount is not None and quantity:
                    # Rounded up, so the cents left over are a discount, never a surcharge.
                    unit = (line_amount / quantity).quantize(CENT, rounding=ROUND_UP)
                if unit is None or quantity is None:
                    return None
                prices[line.number] = _money_text(unit)
                lines_total += unit * quantity
                if line_amount is not None:
                    adjustment += unit * quantity - line_amount
            first = lines[0]
            shipping = self._read_amount(first, "shipping_fee", first.order_fields) or Decimal("0")
            discount = self._read_amount(first, "discount", first.order_fields) or Decimal("0")
            order_amount = self._order_amount(lines)
        except CellError:
            return None
        if order_amount is None:
            total_discount = discount + adjustment
        else:
            total_discount = lines_total + shipping - order_amount
        if total_discount < 0:
            self.problems.add(
                first.number,
                "order_amount" if order_amount is not None else "discount",
                _(
                    "The amounts do not add up: the lines (%(lines)s) and shipping (%(shipping)s) come to less than the buyer pays (%(paid)s)."
                )
                % {
                    "lines": _money_text(lines_total),
                    "shipping": _money_text(shipping),
                    "paid": _money_text(
                        order_amount if order_amount is not None else lines_total + shipping - total_discount
                    ),
                },
            )
        total = lines_total + shipping - total_discount
        return {"prices": prices, "discount": _money_text(total_discount), "total": _money_text(total)}

    def _order_amount(self, lines):
        """What the buyer pays for the whole order, postage included; rows of one order must
        agree on it."""
        if "order_amount" not in self._mapped_fields():
            return None
        first = lines[0]
        value = self._read_amount(first, "order_amount", first.order_fields)
        for line in lines[1:]:
            other = self._read_amount(line, "order_amount", line.order_fields)
            if other != value:
                self.problems.add(
                    line.number,
                    "order_amount",
                    _("“%(value)s” differs from “%(first)s” in row %(row)s of the same order; an order has one amount.")
                    % {"value": other, "first": value, "row": first.number},
                )
                raise CellError(_("The order's rows disagree on its amount."))
        if value is None or self.includes_shipping:
            return value
        shipping = self._read_amount(first, "shipping_fee", first.order_fields) or Decimal("0")
        return value + shipping

    def _paid(self, fields, amounts):
        """What the buyer has paid: the file's paid column when mapped, else the whole order (a
        marketplace order is paid through the platform before the seller sees it)."""
        if "paid_amount" in self._mapped_fields():
            return number_text(fields.get("paid_amount"))
        return amounts["total"] if amounts is not None else ""


def _quantity(value):
    written = number_text(value)
    try:
        quantity = Decimal(written)
    except InvalidOperation:
        return None
    return quantity if quantity.is_finite() and quantity > 0 else None
