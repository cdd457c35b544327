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
