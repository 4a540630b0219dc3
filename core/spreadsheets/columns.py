"""The columns of a kind of spreadsheet, declared once for its template, its import and its export:
each column's key, its English and Chinese headers, the other headers it is known by, whether an
import needs it, and what to write in it. A header cell written by a person is recognised whatever
its case, surrounding spaces, underscores or full-width letters; a header given as a translatable
text (a model field's name, as an export writes it) is recognised in every language of the shop,
so a file the console exported in Chinese comes back in as it went out."""

from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from openpyxl.utils import get_column_letter

from .cells import comparable


@dataclass(frozen=True)
class Column:
    """One column. `english` and `chinese` head the template; `title` (translatable) is the heading
    an export writes for the column, accepted on import in every language; `aliases` are other
    headers it is known by (translatable ones in every language)."""

    key: str
    english: str
    chinese: str
    required: bool = False
    description: str = ""
    title: str = None
    aliases: tuple = field(default=())

    @property
    def label(self):
        """How a message names the column when the file does not: both headers."""
        return f"{self.english} / {self.chinese}"

    @property
    def spellings(self):
        """The headers a person may write, as a page lists them: both headers and the plain aliases."""
        return [self.english, self.chinese, *(alias for alias in self.aliases if not isinstance(alias, Promise))]

    def headers(self):
        """Every header the column is known by, as written (translatable ones in each language)."""
        yield self.english
        yield self.chinese
        others = self.aliases if self.title is None else (self.title, *self.aliases)
        for alias in others:
            if isinstance(alias, Promise):
                for language, _name in settings.LANGUAGES:
                    with translation.override(language):
                        yield str(alias)
            else:
                yield alias


class Columns:
    """The columns of one kind of file, in the template's order."""

    def __init__(self, *columns):
        self.columns = columns
        self.by_key = {column.key: column for column in columns}

    def __iter__(self):
        return iter(self.columns)

    def __getitem__(self, key):
        return self.by_key[key]

    @cached_property
    def lookup(self):
        """The key of each header as compared. A column's own headers come before any alias, so an
        alias never takes another column's header."""
        found = {}
        for column in self.columns:
            found.setdefault(comparable(column.english), column.key)
            found.setdefault(comparable(column.chinese), column.key)
        for column in self.columns:
            for header in column.headers():
                found.setdefault(comparable(header), column.key)
        return found

    def read_header(self, cells):
        """Match a header row to the columns. Returns (key by cell position, each key's header as the
        file writes it, problems): problems are (key, message) for a required column that is
        missing or a column named twice. Cells naming no column are left alone."""
        positions, names, problems, seen = {}, {}, [], {}
        for position, cell in enumerate(cells):
            key = self.lookup.get(comparable(cell))
            if key is None:
                continue
            if key in seen:
                problems.append(
                    (
                        key,
                        gettext("The column “%(header)s” appears twice (columns %(first)s and %(second)s).")
                        % {
                            "header": str(cell).strip(),
                            "first": get_column_letter(seen[key] + 1),
                            "second": get_column_letter(position + 1),
                        },
                    )
                )
                continue
            seen[key] = position
            positions[position] = key
            names[key] = str(cell).strip()
        for column in self.columns:
            if column.required and column.key not in seen:
                problems.append((column.key, gettext("The column “%(label)s” is missing.") % {"label": column.label}))
        return positions, names, problems

    def is_header_row(self, cells):
        """Whether a row names columns rather than holding data: a template has a second header row
        in the other language, under the first."""
        named = [cell for cell in cells if str(cell or "").strip()]
        return bool(named) and all(comparable(cell) in self.lookup for cell in named)

    def name(self, key, names):
        """A column as a message names it: as the file's header writes it (`names`, from
        `read_header`), else by both its headers; "" for no column (the row or file as a whole)."""
        if key in names:
            return names[key]
        return self.by_key[key].label if key in self.by_key else ""
