//! Roster files for tests: the header (the core's own [`ROSTER_HEADER`]), hand-written rows under it
//! ([`csv`]), and one synthetic generator ([`Roster`]) for rosters of any size.
//!
//! A synthetic roster has one resident per household, grid after grid, households in order within their
//! grid; the same parameters always give the same bytes. Household `i` of its grid lives at a fixed
//! address: buildings of 60 households in 3 units of 20, floors of 2 rooms (room `<floor>0<1|2>`).

pub use gridline_core::roster_csv::ROSTER_HEADER;

/// A roster file of hand-written `rows` under the header, each line ending in `\n`.
pub fn csv(rows: &[&str]) -> String {
    let mut text = format!("{ROSTER_HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

/// [`csv`] with the UTF-8 byte order mark spreadsheet programs write.
pub fn csv_with_bom(rows: &[&str]) -> String {
    format!("\u{feff}{}", csv(rows))
}

/// How a synthetic household's code is spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codes {
    /// `<grid>-H<i>`, `i` counted within the grid and zero-padded to this width (0: not padded).
    Dashed(usize),
    /// `<grid><i>`, `i` counted within the grid and zero-padded to this width.
    Joined(usize),
    /// `H<n>`, `n` counted across the whole roster and zero-padded to this width.
    Numbered(usize),
}

/// Which synthetic households carry which tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tags {
    /// No tags.
    None,
    /// Every household `elderly_alone`.
    ElderlyAlone,
    /// Every third household of a grid (the first, fourth, …) `elderly_alone`.
    EveryThirdElderlyAlone,
    /// By household: `elderly_alone`, `disabled`, `low_income`, none, none, and again.
    Mixed,
}

/// A synthetic roster; build with [`Roster::grids`] and the setters, write with [`Roster::csv`].
#[derive(Clone, Debug)]
pub struct Roster {
    grids: Vec<String>,
    households: usize,
    total: Option<usize>,
    codes: Codes,
    tags: Tags,
    varied: bool,
}

impl Roster {
    /// One household in each of `grids`, codes [`Codes::Dashed`] unpadded, no tags, every resident a
    /// woman born in 1948.
    pub fn grids<S: AsRef<str>>(grids: &[S]) -> Roster {
        Roster {
            grids: grids.iter().map(|g| g.as_ref().to_string()).collect(),
            households: 1,
            total: None,
            codes: Codes::Dashed(0),
            tags: Tags::None,
            varied: false,
        }
    }

    /// `n` households in each grid.
    pub fn households(mut self, n: usize) -> Roster {
        self.households = n;
        self
    }

    /// At most `n` households in all (the last grid is then partly filled).
    pub fn total(mut self, n: usize) -> Roster {
        self.total = Some(n);
        self
    }

    /// How household codes are spelled.
    pub fn codes(mut self, codes: Codes) -> Roster {
        self.codes = codes;
        self
    }

    /// Which households carry tags.
    pub fn tags(mut self, tags: Tags) -> Roster {
        self.tags = tags;
        self
    }

    /// Residents alternate women and men, born 1930 to 1989 (by household), instead of all alike.
    pub fn varied(mut self) -> Roster {
        self.varied = true;
        self
    }

    /// The roster file.
    pub fn csv(&self) -> String {
        let mut text = format!("{ROSTER_HEADER}\n");
        let total = self.total.unwrap_or(usize::MAX);
        for (g, grid) in self.grids.iter().enumerate() {
            for i in 0..self.households {
                let n = g * self.households + i;
                if n >= total {
                    return text;
                }
                text.push_str(&self.row(grid, i, n));
                text.push('\n');
            }
        }
        text
    }

    /// Household `i` of `grid`, the `n`th of the roster.
    fn row(&self, grid: &str, i: usize, n: usize) -> String {
        let code = match self.codes {
            Codes::Dashed(width) => format!("{grid}-H{i:0width$}"),
            Codes::Joined(width) => format!("{grid}{i:0width$}"),
            Codes::Numbered(width) => format!("H{n:0width$}"),
        };
        let tags = match self.tags {
            Tags::None => "",
            Tags::ElderlyAlone => "elderly_alone",
            Tags::EveryThirdElderlyAlone if i.is_multiple_of(3) => "elderly_alone",
            Tags::EveryThirdElderlyAlone => "",
            Tags::Mixed => ["elderly_alone", "disabled", "low_income", "", ""][i % 5],
        };
        let (gender, born) = match self.varied {
            true => (if i.is_multiple_of(2) { "F" } else { "M" }, 1930 + i % 60),
            false => ("F", 1948),
        };
        let (building, unit, floor, room) = (i / 60 + 1, i % 60 / 20 + 1, i % 20 / 2 + 1, i % 2 + 1);
        format!("{grid},{building},{unit},{floor},{floor}0{room},{code},居民{n},{gender},{born},,,{tags},")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_grids_then_households() {
        let text = Roster::grids(&["A", "B"]).households(2).codes(Codes::Dashed(4)).tags(Tags::ElderlyAlone).csv();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], ROSTER_HEADER);
        assert_eq!(
            &lines[1..],
            [
                "A,1,1,1,101,A-H0000,居民0,F,1948,,,elderly_alone,",
                "A,1,1,1,102,A-H0001,居民1,F,1948,,,elderly_alone,",
                "B,1,1,1,101,B-H0000,居民2,F,1948,,,elderly_alone,",
                "B,1,1,1,102,B-H0001,居民3,F,1948,,,elderly_alone,",
            ]
        );
    }

    #[test]
    fn total_cuts_the_last_grid_and_numbered_codes_run_on() {
        let text = Roster::grids(&["G01", "G02"]).households(3).total(4).codes(Codes::Numbered(5)).varied().csv();
        let codes: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').nth(5).unwrap_or("")).collect();
        assert_eq!(codes, ["H00000", "H00001", "H00002", "H00003"]);
        assert!(text.lines().nth(2).is_some_and(|l| l.contains(",M,1931,")), "{text}");
    }

    #[test]
    fn tags_by_household() {
        let tags = |t: Tags| -> Vec<String> {
            let text = Roster::grids(&["G01"]).households(6).tags(t).csv();
            text.lines().skip(1).map(|l| l.split(',').nth(11).unwrap_or("").to_string()).collect()
        };
        assert_eq!(tags(Tags::EveryThirdElderlyAlone), ["elderly_alone", "", "", "elderly_alone", "", ""]);
        assert_eq!(tags(Tags::Mixed), ["elderly_alone", "disabled", "low_income", "", "", "elderly_alone"]);
        assert!(tags(Tags::None).iter().all(String::is_empty));
    }
}
