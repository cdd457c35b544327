"""Service orders and points through the bindings on one device: a grid leader orders a service for a household
(the resident's contact copied from the roster), the committee dispatches it, actions outside `allowed_actions`
are refused with stable codes, and a volunteer's and a station's points calls answer on a fresh ledger."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import ROSTER, init_options
from gridline import gridline_core as core
from gridline import gridline_ffi as ffi


def new_order(service="meal_delivery", household="H-201", resident="王秀英", due=None):
    return core.NewServiceOrder(
        household_code=household, resident=resident, service=service, note="午饭送到家", due=due, from_visit=None
    )


def act(action, note="", volunteer=None, due=None, rating=None, photos=()):
    return core.OrderAct(action=action, note=note, volunteer=volunteer, due=due, rating=rating, photos=list(photos))


def in_days(n):
    """The day `n` days from today in the community's time zone, as the core reads a due day."""
    return (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=n)).strftime("%Y-%m-%d")


def no_filter(mine=False):
    return core.OrderFilter(stage=None, mine=mine, grid=None, overdue=False)


@pytest.fixture
def committee(tmp_path, key):
    s = ffi.GridlineStore.init(str(tmp_path / "committee"), key, init_options("李主任", core.Role.COMMITTEE, ()))
    s.import_roster(ROSTER.encode())
    return s


def test_a_request_copies_the_residents_contact_and_is_listed(store):
    fields = store.request_service(new_order())
    assert (fields.resident, fields.phone, fields.household_code) == ("王秀英", "13800000001", "H-201")
    assert fields.address, "the address is copied from the roster: a volunteer never receives it"
    listed = store.order_list(no_filter())
    assert [i.order_id for i in listed.items] == [fields.order_id]
    assert listed.items[0].stage == core.OrderStage.REQUESTED
    assert listed.counts["requested"] == 1 and sum(listed.counts.values()) == 1
    detail = store.order_detail(fields.order_id)
    assert (detail.resident, detail.phone, detail.address) == ("王秀英", "13800000001", fields.address)
    assert detail.points == next(s.points for s in store.settings().service_catalogue if s.code == "meal_delivery")
    assert core.OrderAction.CANCEL in detail.allowed_actions
    assert core.OrderAction.DISPATCH not in detail.allowed_actions  # a grid leader does not dispatch
    assert [e.action for e in detail.events] == ["request"]


def test_a_grid_leader_may_not_accept_and_nothing_is_written(store):
    order_id = store.request_service(new_order()).order_id
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.order_act(order_id, act(core.OrderAction.ACCEPT))
    assert e.value.code == core.ErrorCode.ACTION_NOT_ALLOWED
    assert len(store.order_detail(order_id).events) == 1
    cancelled = store.order_act(order_id, act(core.OrderAction.CANCEL, note="老人住院了"))
    assert cancelled.stage == core.OrderStage.CANCELLED
    assert core.OrderAction.CANCEL not in cancelled.allowed_actions


def test_requests_outside_the_catalogue_roster_or_calendar_are_refused(store):
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.request_service(new_order(service="no_such_service"))
    assert e.value.code == core.ErrorCode.UNKNOWN_CODE
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.request_service(new_order(household="nope"))
    assert e.value.code == core.ErrorCode.HOUSEHOLD_NOT_FOUND
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.request_service(new_order(due="2020-01-01"))  # a due day already past
    assert e.value.code == core.ErrorCode.INVALID_INPUT
    assert store.order_list(no_filter()).items == []


def test_the_committee_dispatches_with_a_due_date_and_only_the_volunteer_accepts(committee):
    order_id = committee.request_service(new_order(household="H-502", resident="李建国")).order_id
    with pytest.raises(ffi.GridlineError.Rejected):
        committee.order_act(order_id, act(core.OrderAction.DISPATCH))  # names no volunteer
    due = in_days(7)
    detail = committee.order_act(order_id, act(core.OrderAction.DISPATCH, volunteer="志愿者甲", due=due))
    assert (detail.stage, detail.volunteer, detail.due) == (core.OrderStage.DISPATCHED, "志愿者甲", due)
    assert not detail.overdue and detail.overdue_days == 0
    assert core.OrderAction.ACCEPT not in detail.allowed_actions
    listed = committee.order_list(core.OrderFilter(stage=core.OrderStage.DISPATCHED, mine=False, grid=None, overdue=False))
    assert [(i.order_id, i.volunteer) for i in listed.items] == [(order_id, "志愿者甲")]


def test_a_volunteers_points_start_at_zero(tmp_path, key):
    volunteer = ffi.GridlineStore.init(str(tmp_path / "v"), key, init_options("志愿者甲", core.Role.VOLUNTEER, ()))
    balance = volunteer.points_balance(None)
    assert (balance.volunteer, balance.balance, balance.earned, balance.redeemed, balance.pending) == (
        "志愿者甲", 0, 0, 0, 0)
    assert volunteer.points_history(None) == []
    assert volunteer.order_list(no_filter(mine=True)).items == []


def test_a_redemption_beyond_the_balance_is_refused_at_once(tmp_path, key):
    station = ffi.GridlineStore.init(str(tmp_path / "s"), key, init_options("张站长", core.Role.STATION, ()))
    towel = next(i for i in station.settings().shop_items if i.code == "towel")
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        station.redeem_points("志愿者乙", towel.code, 1)
    assert e.value.code == core.ErrorCode.POINTS_INSUFFICIENT
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        station.redeem_points("志愿者乙", "no_such_item", 1)
    assert e.value.code == core.ErrorCode.UNKNOWN_ITEM
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        station.points_balance(None)  # a station's user is not a volunteer: name one
    assert e.value.code == core.ErrorCode.INVALID_INPUT
    assert station.points_history("志愿者乙") == []
    assert station.honour_roll("2025-05") == []
