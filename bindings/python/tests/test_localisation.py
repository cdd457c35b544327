"""Every ErrorCode the core exports has a message in both languages of the iOS shell, and the Swift table that
names each code's message lists every code (no Swift toolchain here: its source is checked as text)."""

import pathlib
import re

from gridline import gridline_core as core

ROOT = pathlib.Path(__file__).resolve().parents[3]
IOS = ROOT / "ios-shell"
SWIFT_TABLE = IOS / "GridlineKit" / "Sources" / "Gridline" / "GridlineError+Code.swift"


def strings_keys(lang: str) -> set[str]:
    text = (IOS / "Gridline" / "Resources" / f"{lang}.lproj" / "Localizable.strings").read_text(encoding="utf-8")
    return set(re.findall(r'^"([a-z0-9_]+)" =', text, re.MULTILINE))


def swift_case(member: str) -> str:
    """The Swift case uniffi generates for a Python member name: STORE_KEY_INVALID -> storeKeyInvalid."""
    head, *rest = member.lower().split("_")
    return head + "".join(w.capitalize() for w in rest)


def swift_table() -> dict[str, str]:
    """The `case .code: return "error_…"` rows of ErrorCode.messageKey."""
    return dict(re.findall(r'case \.(\w+): return "(error_[a-z0-9_]+)"', SWIFT_TABLE.read_text(encoding="utf-8")))


def test_the_swift_table_names_a_message_for_every_code():
    table = swift_table()
    cases = {swift_case(m.name) for m in core.ErrorCode}
    assert set(table) == cases, f"missing {cases - set(table)}, unknown {set(table) - cases}"
    for member in core.ErrorCode:
        assert table[swift_case(member.name)] == f"error_{member.name.lower()}"


def test_every_code_has_a_message_in_chinese_and_english():
    needed = set(swift_table().values()) | {"error_unknown", "error_roster_line"}
    for lang in ("zh-Hans", "en"):
        missing = needed - strings_keys(lang)
        assert not missing, f"{lang}.lproj/Localizable.strings lacks {sorted(missing)}"
    assert strings_keys("zh-Hans") == strings_keys("en"), "both languages define the same strings"


def test_both_namespaces_have_their_own_swift_file():
    """The core's data types and the store object share the Swift module `Gridline`; each namespace must
    keep its own generated file, or the iOS app would build without one of them."""
    swift = ROOT / "bindings" / "generated" / "swift"
    core_swift = (swift / "gridline_core.swift").read_text(encoding="utf-8")
    ffi_swift = (swift / "gridline_ffi.swift").read_text(encoding="utf-8")
    assert "public enum ErrorCode" in core_swift and "public enum Stage" in core_swift
    assert "open class GridlineStore" in ffi_swift or "public class GridlineStore" in ffi_swift
