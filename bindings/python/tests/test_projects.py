"""The needs list (问题清单) and service projects with residents' ratings (项目化, 民事民评) through the bindings on
one device: needs found on visits are counted per building, the committee creates a project for them and runs
it to done, a rating before done is refused with `project_not_done`, a household's later rating replaces its
earlier one, and a grid leader may not create or run a project."""

import pytest
from conftest import ROSTER, init_options
from gridline import gridline_core as core
from gridline import gridline_ffi as ffi


def new_project(needs=("meal_delivery", "companionship")):
    return core.NewProject(
        title="长者助餐",
        category="elderly_care",
        organisation="阳光社工中心",
        budget_yuan=50000,
        needs=list(needs),
        _from=None,
        to=None,
    )


def visit(household, tags):
    return core.NewVisit(
        household_code=household,
        residents=[],
        kind=core.VisitKind.HOME,
        at=None,
        duration_min=20,
        services=[],
        needs="走访发现",
        need_tags=list(tags),
        follow_up=None,
        satisfaction=None,
        photos=[],
    )


def rating(household, score):
    return core.NewProjectRating(household_code=household, rating=score, note="")


@pytest.fixture
def committee(tmp_path, key):
    s = ffi.GridlineStore.init(str(tmp_path / "committee"), key, init_options("李主任", core.Role.COMMITTEE, ()))
    s.import_roster(ROSTER.encode())
    return s


def test_needs_found_on_visits_are_counted_per_building(store):
    store.record_visit(visit("H-201", ["meal_delivery", "companionship"]))
    store.record_visit(visit("H-502", ["meal_delivery"]))
    needs = store.needs_list(core.NeedsFilter(grid=None, month=None))
    assert [(n.need, n.households, n.visits) for n in needs.items] == [("meal_delivery", 2, 2), ("companionship", 1, 1)]
    assert [(b.grid, b.building, b.households) for b in needs.items[0].by_building] == [("g1", "3", 2)]
    assert needs.items[0].project_id is None
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.needs_list(core.NeedsFilter(grid=None, month="2026-13"))
    assert e.value.code == core.ErrorCode.INVALID_INPUT


def test_a_grid_leader_may_not_create_a_project(store):
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.project_create(new_project())
    assert e.value.code == core.ErrorCode.ACTION_NOT_ALLOWED
    assert store.project_list(core.ProjectFilter(status=None)).items == []


def test_a_project_is_run_to_done_and_rated_once_per_household(committee):
    fields = committee.project_create(new_project())
    pid = fields.project_id
    detail = committee.project_detail(pid)
    assert detail.status == core.ProjectStatus.PLANNED
    assert detail.allowed_statuses == [core.ProjectStatus.ACTIVE]
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        committee.project_evaluate(pid, rating("H-201", 5))
    assert e.value.code == core.ErrorCode.PROJECT_NOT_DONE
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        committee.project_update(pid, core.ProjectStatus.DONE, "")
    assert e.value.code == core.ErrorCode.ACTION_NOT_ALLOWED
    committee.project_update(pid, core.ProjectStatus.ACTIVE, "进场")
    done = committee.project_update(pid, core.ProjectStatus.DONE, "结项")
    assert (done.status, done.may_evaluate) == (core.ProjectStatus.DONE, True)
    committee.project_evaluate(pid, rating("H-201", 2))
    committee.project_evaluate(pid, rating("H-502", 4))
    after = committee.project_evaluate(pid, rating("H-201", 5))
    assert (after.ratings.count, after.ratings.average) == (2, 4.5)
    states = [(r.household_code, r.state) for r in after.ratings.items]
    assert states.count(("H-201", core.RatingState.REPLACED)) == 1
    assert ("H-201", core.RatingState.STANDS) in states and ("H-502", core.RatingState.STANDS) in states
    listed = committee.project_list(core.ProjectFilter(status=core.ProjectStatus.DONE))
    assert [p.project_id for p in listed.items] == [pid]
    assert listed.counts["done"] == 1
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        committee.project_evaluate(pid, rating("H-201", 9))
    assert e.value.code == core.ErrorCode.INVALID_INPUT
