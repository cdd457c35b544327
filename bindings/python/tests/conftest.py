"""Shared fixtures: the generated bindings on sys.path, a roster, a fresh store per test."""

import os
import secrets
import sys

import pytest

GENERATED = os.environ.get(
    "GRIDLINE_PY_BINDINGS",
    os.path.join(os.path.dirname(__file__), "..", "..", "generated", "python"),
)
sys.path.insert(0, os.path.abspath(GENERATED))

from gridline import gridline_core as core  # noqa: E402
from gridline import gridline_ffi as ffi  # noqa: E402

ROSTER = """grid_code,building,unit,floor,room,household_code,resident_name,gender,birth_year,phone,id_number,tags,notes
g1,3,1,2,201,H-201,王秀英,F,1941,13800000001,,elderly_alone,独居
g1,3,1,5,502,H-502,李建国,M,1950,,,disabled;empty_nest,
g1,3,1,5,502,H-502,张桂兰,F,1952,,,empty_nest,
g1,3,2,1,101,H-101,赵强,M,1985,,,,
"""

# The smallest valid PNG header is enough: the core checks the magic number, not the pixels.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def init_options(user="王芳", role=None, grids=("g1",)):
    return core.InitOptions(
        user=user,
        role=role or core.Role.GRID_LEADER,
        timezone="Asia/Shanghai",
        community_name="幸福里社区",
        community_id=None,
        grids=list(grids),
    )


@pytest.fixture
def key():
    return secrets.token_bytes(32)


@pytest.fixture
def store(tmp_path, key):
    s = ffi.GridlineStore.init(str(tmp_path / "store"), key, init_options())
    s.import_roster(ROSTER.encode())
    return s
