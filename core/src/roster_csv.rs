//! Parsing and validation of the roster CSV ledger (PRODUCT.md §7): one row per resident.
//!
//! Records are cut by a small RFC 4180 reader written here rather than by the `csv` crate,
//! because the error contract is about physical lines: the line a record starts on (after
//! skipped blank lines and multi-line quoted fields, with `\n` or `\r\n` line ends) and the
//! line of the first invalid UTF-8 byte. `csv` 1.x gives a record the position where the
//! previous record's read stopped, so `\r\n` line ends and blank lines make it report an
//! earlier line, and it cannot place a bad byte on a line.
//!
//! Error reasons never echo a phone number, ID number or resident name (PRODUCT.md §5):
//! the line number is enough to find the row.

use std::borrow::Cow;
use std::collections::hash_map::{Entry, HashMap};
use std::ops::{Range, RangeInclusive};

use chrono::NaiveDate;

/// The header line every roster file starts with.
pub const ROSTER_HEADER: &str =
    "grid_code,building,unit,floor,room,household_code,resident_name,gender,birth_year,phone,id_number,tags,notes";

/// The columns of [`ROSTER_HEADER`], in file order.
const COLUMNS: [&str; 13] = [
    "grid_code",
    "building",
    "unit",
    "floor",
    "room",
    "household_code",
    "resident_name",
    "gender",
    "birth_year",
    "phone",
    "id_number",
    "tags",
    "notes",
];

const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;
const MAX_ROWS: usize = 100_000;
const MIN_BIRTH_YEAR: i32 = 1880;
const FLOORS: RangeInclusive<i32> = -10..=200;
const MAX_CODE_CHARS: usize = 32;
const MAX_ADDRESS_CHARS: usize = 32;
const MAX_NAME_CHARS: usize = 64;
const MAX_NOTES_CHARS: usize = 500;
const PHONE_CHARS: RangeInclusive<usize> = 5..=20;
/// Longest cell value quoted back in an error reason.
const MAX_PREVIEW_CHARS: usize = 40;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// ISO 7064 MOD 11-2 weights of the first 17 digits of a resident ID number (GB 11643).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each weighted sum modulo 11.
const ID_CHECK_CHARS: [u8; 11] = *b"10X98765432";
/// Where the `YYYYMMDD` birth date sits among the 17 digits.
const ID_BIRTH_DATE: Range<usize> = 6..14;

/// A resident's gender as the ledger records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// `M` (or `男`) in the ledger.
    Male,
    /// `F` (or `女`) in the ledger.
    Female,
}

impl Gender {
    /// The ledger code written back to files: `"M"` or `"F"`.
    pub fn code(&self) -> &'static str {
        match self {
            Gender::Male => "M",
            Gender::Female => "F",
        }
    }

    /// Reads a ledger gender cell: exactly `M`, `F`, `男` or `女` (the caller trims).
    pub fn parse(s: &str) -> Option<Gender> {
        match s {
            "M" | "男" => Some(Gender::Male),
            "F" | "女" => Some(Gender::Female),
            _ => None,
        }
    }
}

/// One validated resident row of a roster file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    /// 1-based physical line the row starts on (the header is line 1).
    pub line: u32,
    /// Grid the household belongs to: 1–32 characters of `A-Z a-z 0-9 _ -`.
    pub grid_code: String,
    /// Building (楼栋), trimmed, 1–32 characters.
    pub building: String,
    /// Unit (单元), trimmed, 1–32 characters.
    pub unit: String,
    /// Floor, negative for basements, within -10..=200.
    pub floor: i32,
    /// Room (室), trimmed, 1–32 characters.
    pub room: String,
    /// Household the resident belongs to: 1–32 characters of `A-Z a-z 0-9 _ -`.
    pub household_code: String,
    /// Resident's name, trimmed, 1–64 characters.
    pub resident_name: String,
    /// Resident's gender.
    pub gender: Gender,
    /// Year of birth, from 1880 to the year the file was parsed in.
    pub birth_year: u16,
    /// Phone number: 5–20 characters of digits, `+`, `-` and spaces.
    pub phone: Option<String>,
    /// 18-character resident ID number, check character in upper case.
    pub id_number: Option<String>,
    /// Category codes, trimmed, first occurrence kept, each accepted by the caller's `known_tag`.
    pub tags: Vec<String>,
    /// Free text, trimmed, at most 500 characters; may hold newlines and tabs.
    pub notes: String,
}

/// Why a roster file was rejected: the first problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RosterError {
    /// 1-based physical line of the problem; 0 when it concerns the whole file.
    pub line: u32,
    /// What is wrong, in English, for people.
    pub reason: String,
}

impl RosterError {
    fn new(line: u32, reason: impl Into<String>) -> Self {
        Self { line, reason: reason.into() }
    }
}

/// Parses and validates a whole roster file; the first malformed row rejects the file.
///
/// `this_year` bounds `birth_year` (passed in so the rule does not read the clock);
/// `known_tag` says which category codes exist.
pub fn parse_roster_csv(
    bytes: &[u8],
    this_year: i32,
    known_tag: &dyn Fn(&str) -> bool,
) -> Result<Vec<RosterRow>, RosterError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(RosterError::new(0, "file too large"));
    }
    let mut reader = RecordReader::new(bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes));
    let header = reader.next_record()?.ok_or_else(|| RosterError::new(1, "missing header"))?;
    check_header(&header)?;
    let mut households = HouseholdLedger::default();
    let mut rows = Vec::new();
    while let Some(record) = reader.next_record()? {
        if rows.len() == MAX_ROWS {
            let reason = format!("too many rows (at most {MAX_ROWS})");
            return Err(RosterError::new(record.line, reason));
        }
        let row = parse_row(&record, this_year, known_tag)?;
        households.admit(&row)?;
        rows.push(row);
    }
    Ok(rows)
}

/// True when `id` is a valid 18-character resident ID number (check digit and birth date verified).
///
/// The check character may be `x` or `X`.
pub fn valid_resident_id(id: &str) -> bool {
    check_resident_id(id).is_ok()
}

/// Says what is wrong with a resident ID number, in words that do not repeat the number.
fn check_resident_id(id: &str) -> Result<(), &'static str> {
    let Ok(chars) = <&[u8; 18]>::try_from(id.as_bytes()) else {
        return Err("it must be 18 characters long");
    };
    let (body, check) = chars.split_at(17);
    let digits: Vec<u32> = body
        .iter()
        .map(|&b| char::from(b).to_digit(10))
        .collect::<Option<_>>()
        .ok_or("its first 17 characters must be digits")?;
    let sum: u32 = digits.iter().zip(ID_WEIGHTS).map(|(d, w)| d * w).sum();
    let expected = ID_CHECK_CHARS.get((sum % 11) as usize);
    if check.first().map(u8::to_ascii_uppercase).as_ref() != expected {
        return Err("its check digit does not match");
    }
    if !digits.get(ID_BIRTH_DATE).is_some_and(is_real_date) {
        return Err("its birth date is not a real date");
    }
    Ok(())
}

/// True when the eight digits `YYYYMMDD` name a day of the Gregorian calendar.
fn is_real_date(yyyymmdd: &[u32]) -> bool {
    let number = |range: Range<usize>| yyyymmdd.get(range).map(|ds| ds.iter().fold(0, |n, d| n * 10 + d));
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(4..6), number(6..8)) else {
        return false;
    };
    i32::try_from(year).ok().and_then(|year| NaiveDate::from_ymd_opt(year, month, day)).is_some()
}

/// Accepts the header if its names match [`ROSTER_HEADER`], trimmed and ignoring ASCII case.
fn check_header(header: &Record) -> Result<(), RosterError> {
    let wrong = |detail: String| {
        let reason = format!("wrong header ({detail}); expected \"{ROSTER_HEADER}\"");
        RosterError::new(header.line, reason)
    };
    if header.fields.len() != COLUMNS.len() {
        let count = header.fields.len();
        return Err(wrong(format!("{count} columns instead of {}", COLUMNS.len())));
    }
    let mismatch =
        header.fields.iter().zip(COLUMNS).enumerate().find(|(_, (got, want))| !got.trim().eq_ignore_ascii_case(want));
    match mismatch {
        Some((i, (got, _))) => Err(wrong(format!("column {} is {}", i + 1, preview(got.trim())))),
        None => Ok(()),
    }
}

/// Validates one data record, column by column, so the first bad column is the one reported.
fn parse_row(record: &Record, this_year: i32, known_tag: &dyn Fn(&str) -> bool) -> Result<RosterRow, RosterError> {
    let line = record.line;
    let Ok([grid, building, unit, floor, room, household, name, gender, birth, phone, id, tags, notes]) =
        <&[Cow<str>; 13]>::try_from(record.fields.as_slice())
    else {
        let found = record.fields.len();
        let reason = format!("expected {} columns, found {found}", COLUMNS.len());
        return Err(RosterError::new(line, reason));
    };
    let at_line = |reason: String| RosterError::new(line, reason);
    Ok(RosterRow {
        line,
        grid_code: parse_code("grid_code", grid).map_err(at_line)?,
        building: parse_text("building", building, MAX_ADDRESS_CHARS).map_err(at_line)?,
        unit: parse_text("unit", unit, MAX_ADDRESS_CHARS).map_err(at_line)?,
        floor: parse_floor(floor).map_err(at_line)?,
        room: parse_text("room", room, MAX_ADDRESS_CHARS).map_err(at_line)?,
        household_code: parse_code("household_code", household).map_err(at_line)?,
        resident_name: parse_text("resident_name", name, MAX_NAME_CHARS).map_err(at_line)?,
        gender: parse_gender(gender).map_err(at_line)?,
        birth_year: parse_birth_year(birth, this_year).map_err(at_line)?,
        phone: parse_phone(phone).map_err(at_line)?,
        id_number: parse_id_number(id).map_err(at_line)?,
        tags: parse_tags(tags, known_tag).map_err(at_line)?,
        notes: parse_notes(notes).map_err(at_line)?,
    })
}

/// Rejects control characters, which no column but `notes` may hold, and trims the cell.
fn clean<'s>(column: &str, cell: &'s str) -> Result<&'s str, String> {
    if cell.chars().any(char::is_control) {
        return Err(format!("{column} contains a control character"));
    }
    Ok(cell.trim())
}

/// `grid_code` and `household_code`: 1–32 characters of `A-Z a-z 0-9 _ -`.
fn parse_code(column: &str, cell: &str) -> Result<String, String> {
    let code = clean(column, cell)?;
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    // Every allowed character is one byte, so the byte length is the character count.
    if !(1..=MAX_CODE_CHARS).contains(&code.len()) || !code.bytes().all(allowed) {
        let shown = preview(code);
        return Err(format!("{column} {shown} must be 1 to {MAX_CODE_CHARS} characters of A-Z, a-z, 0-9, _ or -"));
    }
    Ok(code.to_owned())
}

/// `building`, `unit`, `room` and `resident_name`: non-empty after trimming, at most `max` characters.
fn parse_text(column: &str, cell: &str, max: usize) -> Result<String, String> {
    let text = clean(column, cell)?;
    if text.is_empty() {
        return Err(format!("{column} is empty"));
    }
    if text.chars().count() > max {
        return Err(format!("{column} is longer than {max} characters"));
    }
    Ok(text.to_owned())
}

fn parse_floor(cell: &str) -> Result<i32, String> {
    let text = clean("floor", cell)?;
    let floor: i32 = text.parse().map_err(|_| format!("floor {} is not an integer", preview(text)))?;
    if !FLOORS.contains(&floor) {
        let (low, high) = (FLOORS.start(), FLOORS.end());
        return Err(format!("floor {floor} is outside {low}..={high}"));
    }
    Ok(floor)
}

fn parse_gender(cell: &str) -> Result<Gender, String> {
    let text = clean("gender", cell)?;
    Gender::parse(text).ok_or_else(|| format!("gender {} must be M, F, 男 or 女", preview(text)))
}

fn parse_birth_year(cell: &str, this_year: i32) -> Result<u16, String> {
    let text = clean("birth_year", cell)?;
    if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("birth_year {} is not four digits", preview(text)));
    }
    // Four ASCII digits fit a u16 (at most 9999), so the fold cannot overflow.
    let year = text.bytes().fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    if !(MIN_BIRTH_YEAR..=this_year).contains(&i32::from(year)) {
        return Err(format!("birth_year {year} is outside {MIN_BIRTH_YEAR}..={this_year}"));
    }
    Ok(year)
}

fn parse_phone(cell: &str) -> Result<Option<String>, String> {
    let phone = clean("phone", cell)?;
    if phone.is_empty() {
        return Ok(None);
    }
    let allowed = |b: u8| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b' ');
    // Every allowed character is one byte, so the byte length is the character count.
    if !PHONE_CHARS.contains(&phone.len()) || !phone.bytes().all(allowed) {
        let (low, high) = (PHONE_CHARS.start(), PHONE_CHARS.end());
        return Err(format!("phone must be {low} to {high} characters of digits, '+', '-' or space"));
    }
    Ok(Some(phone.to_owned()))
}

fn parse_id_number(cell: &str) -> Result<Option<String>, String> {
    let id = clean("id_number", cell)?;
    if id.is_empty() {
        return Ok(None);
    }
    check_resident_id(id).map_err(|why| format!("id_number is not a valid resident ID: {why}"))?;
    Ok(Some(id.to_ascii_uppercase()))
}

/// `;`-separated category codes; empty pieces (`a;;b`, a trailing `;`) are ignored.
fn parse_tags(cell: &str, known_tag: &dyn Fn(&str) -> bool) -> Result<Vec<String>, String> {
    let text = clean("tags", cell)?;
    let mut tags: Vec<String> = Vec::new();
    for tag in text.split(';').map(str::trim).filter(|t| !t.is_empty()) {
        if !known_tag(tag) {
            return Err(format!("unknown tag {}", preview(tag)));
        }
        // The known tags are few, so a linear look-up beats hashing here.
        if !tags.iter().any(|seen| seen == tag) {
            tags.push(tag.to_owned());
        }
    }
    Ok(tags)
}

fn parse_notes(cell: &str) -> Result<String, String> {
    // Spreadsheets on Windows may end lines inside a cell with `\r\n`; keep one convention.
    let notes = cell.replace("\r\n", "\n");
    if notes.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("notes contains a control character other than newline or tab".to_owned());
    }
    let notes = notes.trim();
    if notes.chars().count() > MAX_NOTES_CHARS {
        return Err(format!("notes is longer than {MAX_NOTES_CHARS} characters"));
    }
    Ok(notes.to_owned())
}

/// Quotes a cell for an error reason, cut short so a runaway cell cannot flood the message.
fn preview(text: &str) -> String {
    match text.char_indices().nth(MAX_PREVIEW_CHARS) {
        Some((cut, _)) => format!("{:?}…", text.get(..cut).unwrap_or_default()),
        None => format!("{text:?}"),
    }
}

/// The address columns every resident of one household shares.
#[derive(PartialEq, Eq)]
struct Address {
    grid_code: String,
    building: String,
    unit: String,
    floor: i32,
    room: String,
}

impl Address {
    fn of(row: &RosterRow) -> Self {
        Self {
            grid_code: row.grid_code.clone(),
            building: row.building.clone(),
            unit: row.unit.clone(),
            floor: row.floor,
            room: row.room.clone(),
        }
    }
}

/// What earlier rows said about each household, to check later rows against.
#[derive(Default)]
struct HouseholdLedger {
    /// household_code → line it first appeared on and its address there.
    addresses: HashMap<String, (u32, Address)>,
    /// (household_code, resident_name) → line the resident first appeared on.
    residents: HashMap<(String, String), u32>,
}

impl HouseholdLedger {
    /// Records `row`, or says why it contradicts an earlier row.
    fn admit(&mut self, row: &RosterRow) -> Result<(), RosterError> {
        self.admit_address(row)?;
        self.admit_resident(row)
    }

    fn admit_address(&mut self, row: &RosterRow) -> Result<(), RosterError> {
        let address = Address::of(row);
        match self.addresses.entry(row.household_code.clone()) {
            Entry::Vacant(slot) => {
                slot.insert((row.line, address));
                Ok(())
            }
            Entry::Occupied(first) if first.get().1 == address => Ok(()),
            Entry::Occupied(first) => {
                let (household, first_line) = (&row.household_code, first.get().0);
                let reason = format!("household {household} address differs from line {first_line}");
                Err(RosterError::new(row.line, reason))
            }
        }
    }

    fn admit_resident(&mut self, row: &RosterRow) -> Result<(), RosterError> {
        let key = (row.household_code.clone(), row.resident_name.clone());
        match self.residents.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(row.line);
                Ok(())
            }
            Entry::Occupied(first) => {
                let (household, first_line) = (&row.household_code, first.get());
                let reason = format!("duplicate resident in household {household} (first at line {first_line})");
                Err(RosterError::new(row.line, reason))
            }
        }
    }
}

/// One CSV record: the physical line it starts on and its decoded cells.
struct Record<'a> {
    line: u32,
    fields: Vec<Cow<'a, str>>,
}

/// Where one field's content lies in the file; quoted content still has its quotes doubled.
struct FieldSpan {
    start: usize,
    end: usize,
    quoted: bool,
}

/// Cuts a file into records (RFC 4180: `,` between fields, `"` quoting with `""` for a quote,
/// `\n` or `\r\n` line ends), counting physical lines as it goes.
///
/// It works on bytes: every byte it acts on is ASCII, and UTF-8 never uses ASCII bytes
/// inside a multi-byte character, so cutting before decoding is safe.
struct RecordReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u32,
}

impl<'a> RecordReader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0, line: 1 }
    }

    /// The next record that is not a blank line, or `None` at the end of the file.
    fn next_record(&mut self) -> Result<Option<Record<'a>>, RosterError> {
        self.skip_blank_lines();
        if self.rest().is_empty() {
            return Ok(None);
        }
        let (start, line) = (self.pos, self.line);
        let spans = self.scan_fields(line)?;
        let fields = spans.iter().map(|span| self.decode(span, start, line)).collect::<Result<_, _>>()?;
        Ok(Some(Record { line, fields }))
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    fn next_line(&mut self) {
        // The file size limit keeps the count far below u32::MAX; saturate rather than trust it.
        self.line = self.line.saturating_add(1);
    }

    fn skip_blank_lines(&mut self) {
        loop {
            let len = match self.rest() {
                [b'\n', ..] => 1,
                [b'\r', b'\n', ..] => 2,
                _ => return,
            };
            self.pos += len;
            self.next_line();
        }
    }

    /// Scans one record's fields and consumes its line end.
    fn scan_fields(&mut self, line: u32) -> Result<Vec<FieldSpan>, RosterError> {
        let mut spans = Vec::with_capacity(COLUMNS.len());
        loop {
            let span = match self.rest().first() {
                Some(b'"') => self.scan_quoted(line)?,
                _ => self.scan_unquoted(),
            };
            spans.push(span);
            if self.rest().first() != Some(&b',') {
                self.end_record(line)?;
                return Ok(spans);
            }
            self.pos += 1;
        }
    }

    /// A field up to the next `,` or line end; quotes inside it are kept as they are.
    fn scan_unquoted(&mut self) -> FieldSpan {
        let rest = self.rest();
        let mut field = rest.split(|&b| b == b',' || b == b'\n').next().unwrap_or_default();
        if rest.get(field.len()) == Some(&b'\n') {
            // The `\r` of a `\r\n` line end is not part of the field.
            field = field.strip_suffix(b"\r").unwrap_or(field);
        }
        let start = self.pos;
        self.pos += field.len();
        FieldSpan { start, end: self.pos, quoted: false }
    }

    /// A field from an opening `"` to its closing `"`, across line ends.
    fn scan_quoted(&mut self, line: u32) -> Result<FieldSpan, RosterError> {
        let start = self.pos + 1;
        let mut i = start;
        loop {
            match self.bytes.get(i) {
                None => return Err(RosterError::new(line, "unterminated quoted field")),
                Some(b'"') if self.bytes.get(i + 1) == Some(&b'"') => i += 2,
                Some(b'"') => break,
                Some(b'\n') => {
                    self.next_line();
                    i += 1;
                }
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        Ok(FieldSpan { start, end: i, quoted: true })
    }

    /// Consumes the line end after a record's last field. Unquoted fields always stop at one,
    /// so anything else follows a closing quote.
    fn end_record(&mut self, line: u32) -> Result<(), RosterError> {
        let len = match self.rest() {
            [] => return Ok(()),
            [b'\n', ..] => 1,
            [b'\r', b'\n', ..] => 2,
            _ => {
                let reason = "unexpected character after closing quote";
                return Err(RosterError::new(line, reason));
            }
        };
        self.pos += len;
        self.next_line();
        Ok(())
    }

    /// Decodes a field as UTF-8 and un-doubles its quotes; a bad byte is reported on its own line.
    fn decode(&self, span: &FieldSpan, record_start: usize, line: u32) -> Result<Cow<'a, str>, RosterError> {
        let raw = self.bytes.get(span.start..span.end).unwrap_or_default();
        let text = std::str::from_utf8(raw).map_err(|e| {
            let before = self.bytes.get(record_start..span.start + e.valid_up_to()).unwrap_or_default();
            RosterError::new(line.saturating_add(count_newlines(before)), "invalid UTF-8")
        })?;
        if span.quoted && text.contains("\"\"") {
            return Ok(Cow::Owned(text.replace("\"\"", "\"")));
        }
        Ok(Cow::Borrowed(text))
    }
}

fn count_newlines(bytes: &[u8]) -> u32 {
    let count = bytes.iter().filter(|&&b| b == b'\n').count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const THIS_YEAR: i32 = 2025;

    /// A valid resident row; tests change single columns with `row_with`.
    const BASE_ROW: [&str; 13] =
        ["G01", "3栋", "2单元", "5", "502", "H1", "张秀英", "F", "1949", "13800138000", "", "elderly_alone", ""];

    fn known_tag(tag: &str) -> bool {
        matches!(tag, "elderly_alone" | "disabled" | "low_income" | "veteran")
    }

    fn parse(text: &str) -> Result<Vec<RosterRow>, RosterError> {
        parse_roster_csv(text.as_bytes(), THIS_YEAR, &known_tag)
    }

    fn rejection(line: u32, reason: &str) -> Result<Vec<RosterRow>, RosterError> {
        Err(RosterError { line, reason: reason.to_owned() })
    }

    /// `BASE_ROW` with some columns replaced, by column name.
    fn row_with(changes: &[(&str, &str)]) -> String {
        let mut cells = BASE_ROW.map(str::to_owned);
        for (column, value) in changes {
            let i = COLUMNS.iter().position(|c| c == column).unwrap();
            cells[i] = (*value).to_owned();
        }
        cells.join(",")
    }

    fn row(household: &str, name: &str) -> String {
        row_with(&[("household_code", household), ("resident_name", name)])
    }

    /// The header, then each row on its own line.
    fn file(rows: &[String]) -> String {
        let mut text = format!("{ROSTER_HEADER}\n");
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        text
    }

    /// Parses a file whose third line is `bad` after one good row, and returns the error.
    fn third_line_error(bad: &str) -> RosterError {
        parse(&file(&[row("H0", "王芳"), bad.to_owned()])).unwrap_err()
    }

    /// Appends the ISO 7064 MOD 11-2 check character to 17 digits (the test's own copy of the rule).
    fn with_check(body: &str) -> String {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let digits = body.chars().map(|c| c.to_digit(10).unwrap());
        let sum: u32 = digits.zip(weights).map(|(d, w)| d * w).sum();
        let check = "10X98765432".chars().nth((sum % 11) as usize).unwrap();
        format!("{body}{check}")
    }

    #[test]
    fn header_constant_lists_the_columns() {
        assert_eq!(COLUMNS.join(","), ROSTER_HEADER);
    }

    #[test]
    fn check_helper_matches_the_published_example() {
        assert_eq!(with_check("11010519491231002"), "11010519491231002X");
    }

    #[test]
    fn parses_a_valid_file() {
        let text = format!(
            "{ROSTER_HEADER}\n\
             G01, 3栋 ,2单元,5,502,H1,张秀英,F,1949,138 0013 8000,11010519491231002x, elderly_alone ; disabled;elderly_alone ,独居\n\
             G01,3栋,2单元,5,502,H1,李建国,M,1947,,,,\n"
        );
        let rows = parse(&text).unwrap();
        let first = RosterRow {
            line: 2,
            grid_code: "G01".into(),
            building: "3栋".into(),
            unit: "2单元".into(),
            floor: 5,
            room: "502".into(),
            household_code: "H1".into(),
            resident_name: "张秀英".into(),
            gender: Gender::Female,
            birth_year: 1949,
            phone: Some("138 0013 8000".into()),
            id_number: Some("11010519491231002X".into()),
            tags: vec!["elderly_alone".into(), "disabled".into()],
            notes: "独居".into(),
        };
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], first);
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[1].gender, Gender::Male);
        assert_eq!((rows[1].phone.as_ref(), rows[1].id_number.as_ref()), (None, None));
        assert!(rows[1].tags.is_empty());
    }

    #[test]
    fn bom_and_crlf_give_the_same_rows() {
        let text = file(&[row("H1", "张秀英"), row("H1", "李建国")]);
        let plain = parse(&text).unwrap();
        assert_eq!(plain.len(), 2);
        assert_eq!(parse(&format!("\u{FEFF}{text}")), Ok(plain.clone()));
        assert_eq!(parse(&text.replace('\n', "\r\n")), Ok(plain.clone()));
        assert_eq!(parse(&format!("\u{FEFF}{}", text.replace('\n', "\r\n"))), Ok(plain));
    }

    #[test]
    fn chinese_gender_marks_are_accepted() {
        let text = file(&[
            row_with(&[("resident_name", "甲"), ("gender", "男")]),
            row_with(&[("resident_name", "乙"), ("gender", "女")]),
        ]);
        let genders: Vec<Gender> = parse(&text).unwrap().iter().map(|r| r.gender).collect();
        assert_eq!(genders, [Gender::Male, Gender::Female]);
        assert_eq!((Gender::Male.code(), Gender::Female.code()), ("M", "F"));
        assert_eq!(Gender::parse("m"), None);
    }

    #[test]
    fn quoted_notes_keep_commas_quotes_and_newlines() {
        let notes = "\"腿脚不便, 需上门\n周二复诊, 见 \"\"随访表\"\"\n子女在外地\"";
        let text = file(&[
            row_with(&[("resident_name", "甲"), ("notes", notes)]),
            row("H1", "乙"),
            String::new(),
            row("H1", "丙"),
        ]);
        let rows = parse(&text).unwrap();
        let lines: Vec<u32> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 5, 7]);
        assert_eq!(rows[0].notes, "腿脚不便, 需上门\n周二复诊, 见 \"随访表\"\n子女在外地");
    }

    #[test]
    fn errors_after_a_multiline_record_name_the_right_line() {
        let notes = "\"第一行\r\n第二行\r\n第三行\"";
        let text = file(&[
            row_with(&[("resident_name", "甲"), ("notes", notes)]),
            row_with(&[("resident_name", "乙"), ("gender", "X")]),
        ]);
        assert_eq!(parse(&text), rejection(5, "gender \"X\" must be M, F, 男 or 女"));
        let fixed = text.replace(",X,", ",M,");
        assert_eq!(parse(&fixed).unwrap()[0].notes, "第一行\n第二行\n第三行");
    }

    #[test]
    fn blank_lines_are_skipped_but_counted() {
        let text = format!(
            "{ROSTER_HEADER}\n\n{}\r\n\r\n{}\n",
            row("H1", "甲"),
            row_with(&[("resident_name", "乙"), ("birth_year", "2026")])
        );
        assert_eq!(parse(&text), rejection(5, "birth_year 2026 is outside 1880..=2025"));
    }

    #[test]
    fn wrong_column_count_is_rejected() {
        let short = row("H1", "甲").rsplit_once(',').unwrap().0.to_owned();
        assert_eq!(third_line_error(&short), RosterError { line: 3, reason: "expected 13 columns, found 12".into() });
        let long = format!("{},extra", row("H1", "甲"));
        assert_eq!(third_line_error(&long).reason, "expected 13 columns, found 14");
    }

    #[test]
    fn unknown_tag_is_rejected() {
        let text = file(&[row_with(&[("tags", "disabled; xyz ;veteran")])]);
        assert_eq!(parse(&text), rejection(2, "unknown tag \"xyz\""));
    }

    #[test]
    fn empty_tag_pieces_are_ignored() {
        let text = file(&[row_with(&[("tags", ";veteran;;disabled;")])]);
        assert_eq!(parse(&text).unwrap()[0].tags, ["veteran", "disabled"]);
    }

    #[test]
    fn birth_year_must_be_four_digits_in_range() {
        for good in ["1880", "2025"] {
            let text = file(&[row_with(&[("birth_year", good)])]);
            assert!(parse(&text).is_ok(), "{good}");
        }
        let bad = [
            ("1879", "birth_year 1879 is outside 1880..=2025"),
            ("2026", "birth_year 2026 is outside 1880..=2025"),
            ("49", "birth_year \"49\" is not four digits"),
            ("１９４９", "birth_year \"１９４９\" is not four digits"),
            ("", "birth_year \"\" is not four digits"),
        ];
        for (year, reason) in bad {
            let error = third_line_error(&row_with(&[("birth_year", year)]));
            assert_eq!((error.line, error.reason.as_str()), (3, reason));
        }
    }

    #[test]
    fn bad_gender_is_rejected() {
        let error = third_line_error(&row_with(&[("gender", "female")]));
        assert_eq!(error.line, 3);
        assert_eq!(error.reason, "gender \"female\" must be M, F, 男 or 女");
    }

    #[test]
    fn bad_id_number_is_rejected_without_echoing_it() {
        let wrong_check = "110105194912310021";
        let error = third_line_error(&row_with(&[("id_number", wrong_check)]));
        assert_eq!(error.line, 3);
        assert_eq!(error.reason, "id_number is not a valid resident ID: its check digit does not match");
        let short = third_line_error(&row_with(&[("id_number", "1101051949123100")]));
        assert!(short.reason.ends_with("it must be 18 characters long"));
        assert!(!short.reason.contains("1101051949"));
    }

    #[test]
    fn resident_id_check_digit_and_birth_date() {
        let valid = with_check("11010519491231002");
        assert!(valid_resident_id(&valid));
        assert!(valid_resident_id("11010519491231002x"));
        let accepted: Vec<char> =
            "0123456789X".chars().filter(|c| valid_resident_id(&format!("44030520000101123{c}"))).collect();
        assert_eq!(accepted.len(), 1);
        assert_eq!(accepted[0], with_check("44030520000101123").chars().last().unwrap());
        assert!(valid_resident_id(&with_check("11010520000229001")));
        assert!(!valid_resident_id(&with_check("11010519000229001")));
        assert!(!valid_resident_id(&with_check("11010519491331001")));
        assert!(!valid_resident_id(&with_check("11010519490431001")));
        assert!(!valid_resident_id(&with_check("11010519490100001")));
        assert!(!valid_resident_id("11010519491231002"));
        assert!(!valid_resident_id("11010519491231002XX"));
        assert!(!valid_resident_id("1101051949123100AX"));
        assert!(!valid_resident_id("１1010519491231002X"));
        assert!(!valid_resident_id(""));
    }

    #[test]
    fn id_number_is_stored_with_upper_case_check() {
        let text = file(&[row_with(&[("id_number", " 11010519491231002x ")])]);
        let id = parse(&text).unwrap()[0].id_number.clone();
        assert_eq!(id.as_deref(), Some("11010519491231002X"));
    }

    #[test]
    fn basement_floors_and_floor_range() {
        let text = file(&[row_with(&[("floor", "-2")])]);
        assert_eq!(parse(&text).unwrap()[0].floor, -2);
        for good in ["-10", "200", "+3"] {
            assert!(parse(&file(&[row_with(&[("floor", good)])])).is_ok(), "{good}");
        }
        let bad = [
            ("-11", "floor -11 is outside -10..=200"),
            ("201", "floor 201 is outside -10..=200"),
            ("B2", "floor \"B2\" is not an integer"),
            ("", "floor \"\" is not an integer"),
        ];
        for (floor, reason) in bad {
            let error = third_line_error(&row_with(&[("floor", floor)]));
            assert_eq!((error.line, error.reason.as_str()), (3, reason));
        }
    }

    #[test]
    fn duplicate_resident_is_rejected() {
        let text = file(&[row("H1", "张三"), row("H1", "李四"), row("H2", "张三"), row("H1", "张三")]);
        assert_eq!(parse(&text), rejection(5, "duplicate resident in household H1 (first at line 2)"));
    }

    #[test]
    fn household_address_must_not_change() {
        let moved = row_with(&[("household_code", "H1"), ("resident_name", "乙"), ("room", "503")]);
        let text = file(&[row("H0", "甲"), row("H1", "甲"), moved]);
        assert_eq!(parse(&text), rejection(4, "household H1 address differs from line 3"));
        let other_grid = row_with(&[("resident_name", "乙"), ("grid_code", "G02")]);
        let error = parse(&file(&[row("H1", "甲"), other_grid])).unwrap_err();
        assert_eq!(error.reason, "household H1 address differs from line 2");
    }

    #[test]
    fn invalid_utf8_is_reported_on_its_line() {
        let mut bytes = file(&[row("H1", "甲"), row("H1", "乙")]).into_bytes();
        bytes.extend_from_slice(b"G01,3,2,5,502,H1,\xE5\xBC,F,1949,,,,\n");
        let error = parse_roster_csv(&bytes, THIS_YEAR, &known_tag).unwrap_err();
        assert_eq!(error, RosterError { line: 4, reason: "invalid UTF-8".into() });
    }

    #[test]
    fn invalid_utf8_inside_a_multiline_field_names_the_bytes_line() {
        let mut bytes = format!("{ROSTER_HEADER}\n{}", row("H1", "甲")).into_bytes();
        bytes.extend_from_slice(b"\"first\nsecond\nthird \xFF\"\n");
        let error = parse_roster_csv(&bytes, THIS_YEAR, &known_tag).unwrap_err();
        assert_eq!(error.line, 4);
    }

    #[test]
    fn the_first_error_in_the_file_wins() {
        let mut bytes = file(&[row("H1", "甲"), row_with(&[("gender", "?")])]).into_bytes();
        bytes.extend_from_slice(b"\xFF\n");
        let error = parse_roster_csv(&bytes, THIS_YEAR, &known_tag).unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.reason.starts_with("gender"));
    }

    #[test]
    fn missing_or_wrong_header_is_rejected() {
        for empty in ["", "\u{FEFF}", "\n\r\n"] {
            assert_eq!(parse(empty), rejection(1, "missing header"), "{empty:?}");
        }
        let renamed = ROSTER_HEADER.replace("floor", "level");
        let error = parse(&renamed).unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.reason.contains("column 4 is \"level\""));
        assert!(error.reason.contains(ROSTER_HEADER));
        let headless = parse(&row("H1", "甲")).unwrap_err();
        assert_eq!(headless.line, 1);
        assert!(headless.reason.contains(ROSTER_HEADER));
        let short = parse("grid_code,building").unwrap_err();
        assert_eq!(short.line, 1);
    }

    #[test]
    fn header_names_are_trimmed_and_case_insensitive() {
        let loose =
            ROSTER_HEADER.split(',').map(|name| format!(" {} ", name.to_uppercase())).collect::<Vec<_>>().join(",");
        assert_eq!(parse(&loose), Ok(vec![]));
    }

    #[test]
    fn header_only_file_has_no_rows() {
        for text in [ROSTER_HEADER.to_owned(), format!("{ROSTER_HEADER}\n"), format!("\u{FEFF}{ROSTER_HEADER}\r\n\r\n")]
        {
            assert_eq!(parse(&text), Ok(vec![]), "{text:?}");
        }
    }

    #[test]
    fn malformed_quoting_is_rejected_at_the_record_start() {
        let open = format!(
            "{ROSTER_HEADER}\n{}\n{}\"never closed\nmore\n",
            row("H1", "甲"),
            row_with(&[("resident_name", "乙"), ("notes", "")])
        );
        assert_eq!(parse(&open), rejection(3, "unterminated quoted field"));
        let trailing = row_with(&[("notes", "\"quoted\"tail")]);
        assert_eq!(parse(&file(&[trailing])), rejection(2, "unexpected character after closing quote"));
    }

    #[test]
    fn quotes_inside_an_unquoted_field_are_kept() {
        let text = file(&[row_with(&[("resident_name", "张\"三\"")])]);
        assert_eq!(parse(&text).unwrap()[0].resident_name, "张\"三\"");
    }

    #[test]
    fn text_column_limits() {
        let cases = [
            (row_with(&[("building", "  ")]), "building is empty"),
            (
                row_with(&[("room", &"9".repeat(33))]),
                "room is longer than 32 characters",
            ),
            (
                row_with(&[("resident_name", &"名".repeat(65))]),
                "resident_name is longer than 64 characters",
            ),
            (
                row_with(&[("resident_name", "张\u{7}三")]),
                "resident_name contains a control character",
            ),
            (
                row_with(&[("notes", &"记".repeat(501))]),
                "notes is longer than 500 characters",
            ),
            (
                row_with(&[("notes", "a\u{0}b")]),
                "notes contains a control character other than newline or tab",
            ),
            (
                row_with(&[("grid_code", "G 01")]),
                "grid_code \"G 01\" must be 1 to 32 characters of A-Z, a-z, 0-9, _ or -",
            ),
            (
                row_with(&[("household_code", &"H".repeat(33))]),
                "household_code \"HHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHH\" must be 1 to 32 characters of A-Z, a-z, 0-9, _ or -",
            ),
            (
                row_with(&[("phone", "1234")]),
                "phone must be 5 to 20 characters of digits, '+', '-' or space",
            ),
            (
                row_with(&[("phone", "138-0013-800x")]),
                "phone must be 5 to 20 characters of digits, '+', '-' or space",
            ),
        ];
        for (row, reason) in cases {
            let error = third_line_error(&row);
            assert_eq!((error.line, error.reason.as_str()), (3, reason), "{row}");
        }
    }

    #[test]
    fn text_columns_at_their_limits_are_accepted() {
        let row = row_with(&[
            ("grid_code", &"g".repeat(32)),
            ("room", &"室".repeat(32)),
            ("resident_name", &"名".repeat(64)),
            ("phone", "+86 10-1234 5678"),
            ("notes", &format!("\"{}\t\n\"", "记".repeat(498))),
        ]);
        let rows = parse(&file(&[row])).unwrap();
        assert_eq!(rows[0].notes.chars().count(), 498);
        assert_eq!(rows[0].resident_name.chars().count(), 64);
        let tabbed = row_with(&[("notes", "a\tb")]);
        assert_eq!(parse(&file(&[tabbed])).unwrap()[0].notes, "a\tb");
    }

    #[test]
    fn file_size_limit() {
        let huge = vec![b'a'; MAX_FILE_BYTES + 1];
        let error = parse_roster_csv(&huge, THIS_YEAR, &known_tag).unwrap_err();
        assert_eq!(error, RosterError { line: 0, reason: "file too large".into() });
        let at_limit = vec![b'a'; MAX_FILE_BYTES];
        let error = parse_roster_csv(&at_limit, THIS_YEAR, &known_tag).unwrap_err();
        assert_eq!(error.line, 1);
    }

    #[test]
    fn row_count_limit() {
        let rows: Vec<String> = (0..=MAX_ROWS).map(|i| row(&format!("H{i}"), "甲")).collect();
        let text = file(&rows);
        let error = parse(&text).unwrap_err();
        assert_eq!(error.line, 100_002);
        assert_eq!(error.reason, "too many rows (at most 100000)");
        let at_limit = file(&rows[..MAX_ROWS]);
        assert_eq!(parse(&at_limit).unwrap().len(), MAX_ROWS);
    }

    #[test]
    fn ten_thousand_rows_parse() {
        let rows: Vec<String> = (0..10_000).map(|i| row(&format!("H{}", i / 3), &format!("居民{i}"))).collect();
        let parsed = parse(&file(&rows)).unwrap();
        assert_eq!(parsed.len(), 10_000);
        assert_eq!(parsed.last().map(|r| r.line), Some(10_001));
    }

    /// A valid file touching every feature the reader has, for the mutation test.
    fn sample_file() -> String {
        let id = with_check("11010519491231002");
        let notes = "\"行动不便, 需上门\r\n说 \"\"你好\"\"\"";
        format!(
            "\u{FEFF}{ROSTER_HEADER}\r\n{}\r\n\r\n{}\n{}\n",
            row_with(&[("id_number", &id), ("notes", notes)]),
            row_with(&[("resident_name", "李建国"), ("gender", "男"), ("tags", "")]),
            row_with(&[("household_code", "H2"), ("floor", "-2"), ("phone", "")]),
        )
    }

    fn interesting_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            prop::sample::select(vec![b',', b'"', b'\n', b'\r', b';', b' ', b'-', b'X', b'0', 0x00, 0xE5, 0xBC, 0xFF,]),
            any::<u8>(),
        ]
    }

    /// Lines are 1-based and each one ends at a `\n`, so a file has this many lines at most.
    fn line_count(bytes: &[u8]) -> u32 {
        count_newlines(bytes) + 1
    }

    /// Whatever comes back must point into the file, in order.
    fn check_outcome(bytes: &[u8]) -> Result<(), TestCaseError> {
        let lines = line_count(bytes);
        match parse_roster_csv(bytes, THIS_YEAR, &known_tag) {
            Ok(rows) => {
                prop_assert!(rows.windows(2).all(|w| w[0].line < w[1].line));
                prop_assert!(rows.iter().all(|r| (2..=lines).contains(&r.line)));
            }
            Err(error) => prop_assert!((1..=lines).contains(&error.line), "{error}"),
        }
        Ok(())
    }

    #[test]
    fn sample_file_is_valid() {
        assert_eq!(parse(&sample_file()).unwrap().len(), 3);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            check_outcome(&bytes)?;
        }

        #[test]
        fn random_rows_after_a_header_never_panic(
            tail in prop::collection::vec(interesting_byte(), 0..2048)
        ) {
            let mut bytes = format!("{ROSTER_HEADER}\n").into_bytes();
            bytes.extend(tail);
            check_outcome(&bytes)?;
        }

        #[test]
        fn mutated_valid_file_never_panics(
            edits in prop::collection::vec(
                (0u8..3, any::<prop::sample::Index>(), interesting_byte()),
                1..12,
            )
        ) {
            let mut bytes = sample_file().into_bytes();
            for (op, at, byte) in edits {
                let i = at.index(bytes.len() + 1);
                match op {
                    0 => bytes.insert(i, byte),
                    1 if i < bytes.len() => {
                        bytes.remove(i);
                    }
                    _ if i < bytes.len() => bytes[i] = byte,
                    _ => {}
                }
            }
            check_outcome(&bytes)?;
        }
    }
}
