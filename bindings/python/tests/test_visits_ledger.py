"""A social worker's visits and the monthly ledger through the bindings."""


import pytest
from conftest import ROSTER, init_options
from gridline import gridline_core as core
from gridline import gridline_ffi as ffi


@pytest.fixture
def social_worker(tmp_path, key):
    s = ffi.GridlineStore.init(str(tmp_path / "sw"), key, init_options(user="陈社工", role=core.Role.SOCIAL_WORKER))
    s.import_roster(ROSTER.encode())
    return s


def test_home_visit_clears_what_it_satisfies_and_shows_in_the_ledger(social_worker):
    due = social_worker.visits_due(None)
    home = [i for i in due.items if i.resident == "王秀英" and i.contact == core.DueContact.HOME]
    assert home and home[0].household_code == "H-201"
    service = social_worker.settings().visit_services[0].code
    visit = social_worker.record_visit(core.NewVisit(
        household_code="H-201", residents=["王秀英"], kind=core.VisitKind.HOME, at=None, duration_min=30,
        services=[service], needs="需要助餐", need_tags=[], follow_up=None, satisfaction=5, photos=[]))
    assert visit.kind == core.VisitKind.HOME and visit.services == [service]
    after = social_worker.visits_due(None)
    assert not [i for i in after.items if i.resident == "王秀英" and i.contact in (core.DueContact.HOME, core.DueContact.DOOR, core.DueContact.PHONE)
                and i.overdue_days == 0 and i.due_date == after.date]

    month = visit.day[:7]
    summary = social_worker.ledger_summary(month, None)
    assert summary.month == month and summary.visits == 1 and summary.services_delivered == 1
    csv = social_worker.ledger_csv(month, None, core.Lang.EN)
    assert csv.startswith(b"\xef\xbb\xbf") and len(csv) > 100
    xlsx = social_worker.ledger_xlsx(month, "g1", core.Lang.ZH)
    assert xlsx[:2] == b"PK"


def test_bad_month_and_satisfaction_are_rejected(social_worker):
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        social_worker.ledger_summary("2026-13", None)
    assert e.value.code == core.ErrorCode.INVALID_INPUT
    with pytest.raises(ffi.GridlineError.Rejected):
        social_worker.record_visit(core.NewVisit(
            household_code="H-201", residents=["王秀英"], kind=core.VisitKind.HOME, at=None, duration_min=None,
            services=[], needs="", need_tags=[], follow_up=None, satisfaction=9, photos=[]))
