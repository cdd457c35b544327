"""Incidents through the bindings: a problem found on the rounds becomes an incident, listed and shown with the
actions the device's role may take; an action outside them is refused with a stable code."""

from gridline import gridline_core as core
from gridline import gridline_ffi as ffi
import pytest
from conftest import PNG


def problem_check_in(store):
    return store.check_in(
        core.NewCheckIn(
            household_code="H-201",
            kind=core.CheckInKind.DOOR,
            outcome=core.CheckInOutcome.PROBLEM,
            note="楼道灯坏了，老人夜里看不见",
            photos=[store.add_photo(PNG)],
            location=None,
            at=None,
        )
    )


def new_incident(category, check_in_id=None, severity=None, title=""):
    return core.NewIncident(
        household_code="H-201",
        grid=None,
        category=category,
        severity=severity,
        title=title,
        description="",
        photos=[],
        location=core.Location(lat=31.2, lon=121.4, accuracy_m=None),
        at=None,
        check_in_id=check_in_id,
    )


def test_problem_check_in_prefills_an_incident_listed_and_shown(store):
    category = store.settings().incident_categories[0].code
    c = problem_check_in(store)
    inc = new_incident(category, check_in_id=c.check_in_id)
    fields = store.report_incident(inc)
    assert fields.household_code == "H-201"
    assert fields.description == "楼道灯坏了，老人夜里看不见"
    assert fields.photos == c.photos
    listed = store.incident_list(
        core.IncidentFilter(stage=None, severity=None, grid=None, overdue=False, waiting_for_me=False)
    )
    assert [i.incident_id for i in listed.items] == [fields.incident_id]
    assert sum(listed.counts.values()) == 1
    detail = store.incident_detail(fields.incident_id)
    assert detail.stage == listed.items[0].stage
    assert [e.action for e in detail.events] == ["report"]
    assert core.Action.COMMENT in detail.allowed_actions


def test_actions_follow_allowed_actions(store):
    inc = new_incident(store.settings().incident_categories[0].code, severity=core.Severity.URGENT, title="电梯困人")
    fields = store.report_incident(inc)
    detail = store.incident_act(fields.incident_id, core.IncidentAct(
        action=core.Action.COMMENT, note="已通知物业", assignee=None, duplicate_of=None, satisfied=None, photos=[]))
    assert [e.action for e in detail.events] == ["report", "comment"]
    assert core.Action.VERIFY not in detail.allowed_actions  # a grid leader does not verify
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.incident_act(fields.incident_id, core.IncidentAct(
            action=core.Action.VERIFY, note="", assignee="张师傅", duplicate_of=None, satisfied=None, photos=[]))
    assert e.value.code == core.ErrorCode.ACTION_NOT_ALLOWED
    assert len(store.incident_detail(fields.incident_id).events) == 2


def test_unknown_incident_is_not_found(store):
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.incident_detail("00000000-0000-7000-8000-000000000000")
    assert e.value.code == core.ErrorCode.NOT_FOUND
