from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator):
    """Counts at most `cap` rows, so a list over a million orders never counts the whole table.
    Past the cap the list says "10,000+" and offers the first `cap` rows; filters narrow it."""

    cap = 10_000

    @cached_property
    def _counted(self):
        return self.object_list.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self):
        return min(self._counted, self.cap)

    @cached_property
    def has_more(self):
        return self._counted > self.cap
