"""The two-way evaluation (双评议) through the bindings: a grid leader records a household's yearly survey (one
answer per configured item), a second survey of the household is refused with `already_surveyed`, the report
averages per item (answers and scores cross as bytes, one per item); the station rates a department and the later rating replaces the earlier."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import ROSTER, init_options
from gridline import gridline_core as core
from gridline import gridline_ffi as ffi


def this_year():
    return datetime.now(ZoneInfo("Asia/Shanghai")).year


def survey(household, answers):
    return core.NewSurvey(household_code=household, answers=bytes(answers), visit_id=None)


def test_a_household_is_surveyed_once_a_year_and_the_report_averages_per_item(store):
    items = store.settings().survey_items
    assert len(items) == 10 and items[0].name_zh == "环境卫生"
    first = store.survey_record(survey("H-201", [5] * 10))
    assert (first.household_code, first.grid, first.year) == ("H-201", "g1", this_year())
    assert list(first.answers) == [5] * 10
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.survey_record(survey("H-201", [1] * 10))
    assert e.value.code == core.ErrorCode.ALREADY_SURVEYED
    for bad in ([5] * 9, [0] + [5] * 9, [6] * 10):
        with pytest.raises(ffi.GridlineError.Rejected) as e:
            store.survey_record(survey("H-502", bad))
        assert e.value.code == core.ErrorCode.INVALID_INPUT
    store.survey_record(survey("H-502", [3] + [4] * 9))
    report = store.survey_report(this_year(), None)
    assert (report.total.households_surveyed, report.total.duplicates) == (2, 0)
    assert report.total.items[0].average == 4.0 and report.total.items[1].average == 4.5
    assert [g.grid for g in report.grids] == ["g1"]
    assert store.household_survey("H-201", this_year()).survey_id == first.survey_id
    assert store.household_survey("H-101", this_year()) is None


def test_the_station_rates_departments_and_a_grid_leader_may_not(tmp_path, key, store):
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.department_rate("区民政局", this_year(), bytes([4] * 10))
    assert e.value.code == core.ErrorCode.ACTION_NOT_ALLOWED
    station = ffi.GridlineStore.init(str(tmp_path / "station"), key, init_options("李站长", core.Role.STATION, ()))
    station.import_roster(ROSTER.encode())
    assert station.department_rate("区民政局", this_year(), bytes([3] * 10)).average == 3.0
    later = station.department_rate("区民政局", this_year(), bytes([5] * 9 + [4]))
    assert (later.average, later.replaced) == (4.9, 1)
    report = station.department_report(this_year())
    assert [(d.department, d.average) for d in report.departments] == [("区民政局", 4.9)]
    assert [a.score for a in report.departments[0].aspects][-1] == 4
