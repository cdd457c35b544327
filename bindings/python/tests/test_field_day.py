"""A grid leader's field day through the generated Python bindings: open the encrypted store with key bytes,
import the roster, walk the rounds, check in with a photo, read the household back."""

from gridline import gridline_core as core
from gridline import gridline_ffi as ffi
import pytest
from conftest import PNG, ROSTER, init_options


def test_init_reports_device_and_default_settings(tmp_path, key):
    s = ffi.GridlineStore.init(str(tmp_path / "s"), key, init_options())
    d = s.device()
    assert d.user == "王芳"
    assert d.role == core.Role.GRID_LEADER
    assert d.grids == ["g1"]
    codes = [c.code for c in s.settings().categories]
    assert "elderly_alone" in codes


def test_import_is_counted_and_idempotent(tmp_path, key):
    s = ffi.GridlineStore.init(str(tmp_path / "s"), key, init_options())
    first = s.import_roster(ROSTER.encode())
    assert (first.households.added, first.residents.added) == (3, 4)
    again = s.import_roster(ROSTER.encode())
    assert (again.households.added, again.households.updated, again.residents.added) == (0, 0, 0)


def test_rounds_put_care_plan_households_first_in_walking_order(store):
    rounds = store.rounds(None)
    codes = [i.household_code for i in rounds.items]
    # Care-plan households (elderly alone, disabled, empty nest) before rotation-only H-101.
    assert codes == ["H-201", "H-502", "H-101"]
    assert [i.rotation_only for i in rounds.items] == [False, False, True]
    contacts = {r.contact for r in rounds.items[0].reasons}
    assert {core.DueContact.PHONE, core.DueContact.DOOR} <= contacts
    assert len(rounds.date) == 10 and rounds.date[4] == "-"


def test_check_in_with_photo_shows_in_household_and_clears_rounds(store):
    photo = store.add_photo(PNG)
    assert len(photo) == 64
    c = store.check_in(
        core.NewCheckIn(
            household_code="H-101",
            kind=core.CheckInKind.DOOR,
            outcome=core.CheckInOutcome.WELL,
            note="一切正常",
            photos=[photo],
            location=core.Location(lat=31.23, lon=121.47, accuracy_m=8.0),
            at=None,
        )
    )
    assert c.household_code == "H-101" and c.photos == [photo]
    assert "T" in c.at  # RFC 3339 text
    detail = store.household_detail("H-101")
    assert [x.check_in_id for x in detail.check_ins] == [c.check_in_id]
    assert detail.check_ins[0].note == "一切正常"
    assert (detail.check_ins[0].kind, detail.check_ins[0].outcome) == (core.CheckInKind.DOOR, core.CheckInOutcome.WELL)
    assert detail.due == []
    assert "H-101" not in [i.household_code for i in store.rounds(None).items]


def test_wrong_key_is_a_store_error_with_a_stable_code(tmp_path, key):
    ffi.GridlineStore.init(str(tmp_path / "s"), key, init_options())
    with pytest.raises(ffi.GridlineError.Store) as e:
        ffi.GridlineStore.open(str(tmp_path / "s"), bytes(32))
    assert e.value.code == core.ErrorCode.STORE_KEY_INVALID
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        ffi.GridlineStore.open(str(tmp_path / "s"), b"short")
    assert e.value.code == core.ErrorCode.INVALID_INPUT


def test_reopen_with_key_keeps_everything(tmp_path, key):
    s = ffi.GridlineStore.init(str(tmp_path / "s"), key, init_options())
    s.import_roster(ROSTER.encode())
    del s
    again = ffi.GridlineStore.open(str(tmp_path / "s"), key)
    assert again.household_detail("H-502").residents[0].name in ("李建国", "张桂兰")


def test_bad_input_is_rejected_not_a_crash(store):
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.household_detail("nope")
    assert e.value.code == core.ErrorCode.HOUSEHOLD_NOT_FOUND
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.add_photo(b"not an image")
    assert e.value.code == core.ErrorCode.PHOTO_INVALID
    with pytest.raises(ffi.GridlineError.Rejected) as e:
        store.import_roster(b"grid_code\nbroken")
    assert e.value.code == core.ErrorCode.ROSTER_INVALID
    bad_date = "2024-13-45"
    with pytest.raises(Exception):
        store.rounds(bad_date)
