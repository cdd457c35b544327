//! The two-way evaluation (双评议): the one place that decides which residents' surveys and which department
//! ratings count, and what they average to.
//!
//! - **Residents' survey** (居民满意度测评): one survey per household per year. A device refuses a second one
//!   (`already_surveyed`); two recorded offline on different phones both reach every replica, and the
//!   **earliest** by its time stands (tie: the smaller id) — the household was surveyed then; the other is
//!   kept and counted as a duplicate, never averaged.
//! - **Department rating** (部门评议): one rating per department per year. A later rating replaces an earlier
//!   one: the **latest** by its time stands (tie: the larger id); earlier ones are kept and counted as
//!   replaced.
//!
//! Answers and scores are 1–5, one per configured item or aspect; averages are rounded to two decimals here,
//! once, so the CLI, the ledger and the console show the same figures. Pure functions: no I/O, no clock.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::model::community::CatalogueEntry;
use crate::model::{
    AspectScore, DepartmentRating, DepartmentReport, DepartmentResult, ItemAverage, Survey, SurveyReport, SurveySummary,
};

/// Lowest answer or score.
pub const MIN_SCORE: u8 = 1;
/// Highest answer or score.
pub const MAX_SCORE: u8 = 5;
/// Most items a survey, or aspects a department rating, may have (the configuration's bound too).
pub const MAX_ITEMS: usize = 30;
/// Longest department name, in characters.
pub const MAX_DEPARTMENT_CHARS: usize = 64;
/// Earliest year surveyed or rated.
pub const MIN_YEAR: u32 = 2000;
/// Latest year surveyed or rated.
pub const MAX_YEAR: u32 = 2100;

/// Checks answers or scores: exactly `expected` (the configured count, 1–[`MAX_ITEMS`]), each 1–5.
pub fn check_scores(field: &str, scores: &[u8], expected: usize) -> Result<()> {
    if scores.len() != expected {
        return Err(Error::invalid(field, format!("{} given, the configuration has {expected}", scores.len())));
    }
    if scores.len() > MAX_ITEMS {
        return Err(Error::invalid(field, format!("at most {MAX_ITEMS}")));
    }
    if let Some(bad) = scores.iter().find(|s| !(MIN_SCORE..=MAX_SCORE).contains(s)) {
        return Err(Error::invalid(field, format!("{bad} is not from {MIN_SCORE} to {MAX_SCORE}")));
    }
    Ok(())
}

/// Parses `a1,a2,…` (what the CLI takes and the documents hold); at most [`MAX_ITEMS`] numbers, each 1–5.
pub fn parse_scores(text: &str) -> Option<Vec<u8>> {
    // At most one part past the bound is taken: a hostile entry of a million commas allocates nothing more.
    let parts: Vec<&str> = text.split(',').take(MAX_ITEMS + 1).map(str::trim).collect();
    if parts.is_empty() || parts.len() > MAX_ITEMS {
        return None;
    }
    parts.iter().map(|p| p.parse::<u8>().ok().filter(|s| (MIN_SCORE..=MAX_SCORE).contains(s))).collect()
}

/// Answers or scores as the documents hold them: `a1,a2,…`.
pub fn scores_text(scores: &[u8]) -> String {
    scores.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

/// The item or aspect codes an entry answers, as the documents hold them: `c1,c2,…`.
pub fn codes_text(codes: &[String]) -> String {
    codes.join(",")
}

/// Parses [`codes_text`]: empty (an entry recorded before codes were kept) or at most [`MAX_ITEMS`] distinct
/// codes of 1–64 characters, none a control character.
pub fn parse_codes(text: &str) -> Option<Vec<String>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    let well_formed = |c: &&str| !c.is_empty() && c.chars().count() <= 64 && !c.chars().any(char::is_control);
    let parts: Vec<&str> = text.split(',').take(MAX_ITEMS + 1).collect();
    if parts.len() > MAX_ITEMS || !parts.iter().all(well_formed) {
        return None;
    }
    let distinct = parts.iter().collect::<std::collections::BTreeSet<_>>().len() == parts.len();
    distinct.then(|| parts.into_iter().map(str::to_string).collect())
}

/// True when an entry's codes (as the documents hold them) are well formed and name one item per answer, or
/// are empty (an entry recorded before codes were kept).
pub fn codes_fit(text: &str, answered: usize) -> bool {
    parse_codes(text).is_some_and(|codes| codes.is_empty() || codes.len() == answered)
}

/// An entry's answer to the configured item `code`, the `n`th of the configuration: found by its code among
/// the codes the entry answered, or by position in an entry recorded before codes were kept. `None` when the
/// entry did not answer that item (the item was added since).
pub fn answer_to(codes: &[String], answers: &[u8], n: usize, code: &str) -> Option<u8> {
    if codes.is_empty() {
        return answers.get(n).copied();
    }
    codes.iter().position(|c| c == code).and_then(|i| answers.get(i).copied())
}

/// Checks a department's name (1–[`MAX_DEPARTMENT_CHARS`] characters, no control characters) and returns
/// it trimmed.
pub fn check_department(name: &str) -> Result<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_DEPARTMENT_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid("department", format!("a name of 1 to {MAX_DEPARTMENT_CHARS} characters")));
    }
    Ok(name.to_string())
}

/// Checks a year ([`MIN_YEAR`]–[`MAX_YEAR`]).
pub fn check_year(year: u32) -> Result<()> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(Error::invalid("year", format!("from {MIN_YEAR} to {MAX_YEAR}")));
    }
    Ok(())
}

/// The mean of `values`, rounded to two decimals (`None` when empty).
pub fn average(values: impl IntoIterator<Item = u8>) -> Option<f64> {
    let (sum, n) = values.into_iter().fold((0u64, 0u64), |(s, n), v| (s + u64::from(v), n + 1));
    (n > 0).then(|| (sum as f64 / n as f64 * 100.0).round() / 100.0)
}

/// Splits surveys into those that stand — per household, the earliest by time (tie: the smaller id) — and
/// the duplicates, each list in household order.
pub fn standing_surveys(surveys: &[Survey]) -> (Vec<&Survey>, Vec<&Survey>) {
    let mut by_household: BTreeMap<(&str, &str), Vec<&Survey>> = BTreeMap::new();
    for s in surveys {
        by_household.entry((s.grid.as_str(), s.household_code.as_str())).or_default().push(s);
    }
    let (mut standing, mut duplicates) = (Vec::new(), Vec::new());
    for (_, mut list) in by_household {
        list.sort_by(|a, b| (a.at, &a.survey_id).cmp(&(b.at, &b.survey_id)));
        let mut list = list.into_iter();
        standing.extend(list.next());
        duplicates.extend(list);
    }
    (standing, duplicates)
}

/// Whether `household` has a survey among `surveys` (of one year).
pub fn is_surveyed(surveys: &[Survey], household: &str) -> bool {
    surveys.iter().any(|s| s.household_code == household)
}

/// The figures of `surveys` (one year's, already limited to the grids asked about) for `grid`.
pub fn survey_summary(grid: Option<String>, items: &[CatalogueEntry], surveys: &[Survey]) -> SurveySummary {
    let (standing, duplicates) = standing_surveys(surveys);
    let per_item: Vec<Vec<u8>> = items
        .iter()
        .enumerate()
        .map(|(n, item)| standing.iter().filter_map(|s| answer_to(&s.items, &s.answers, n, &item.code)).collect())
        .collect();
    let overall = average(per_item.iter().flatten().copied());
    let items = items
        .iter()
        .zip(per_item)
        .map(|(item, answers)| ItemAverage {
            item: item.code.clone(),
            name_zh: item.name_zh.clone(),
            name_en: item.name_en.clone(),
            answers: answers.len() as u32,
            average: average(answers),
        })
        .collect();
    SurveySummary {
        grid,
        households_surveyed: standing.len() as u32,
        duplicates: duplicates.len() as u32,
        average: overall,
        items,
    }
}

/// A year's survey report over `surveys` (the grids asked about): the total, and each grid with a survey
/// (grids in natural order).
pub fn survey_report(year: u32, grid: Option<&str>, items: &[CatalogueEntry], surveys: &[Survey]) -> SurveyReport {
    let mut by_grid: BTreeMap<&str, Vec<Survey>> = BTreeMap::new();
    for s in surveys {
        by_grid.entry(s.grid.as_str()).or_default().push(s.clone());
    }
    let mut grids: Vec<SurveySummary> =
        by_grid.into_iter().map(|(g, list)| survey_summary(Some(g.to_string()), items, &list)).collect();
    grids.sort_by(|a, b| {
        crate::schedule::natural_cmp(a.grid.as_deref().unwrap_or_default(), b.grid.as_deref().unwrap_or_default())
    });
    SurveyReport { year, total: survey_summary(grid.map(str::to_string), items, surveys), grids }
}

/// Splits ratings into those that stand — per department, the latest by time (tie: the larger id) — and
/// the ones they replaced, by department name.
pub fn standing_ratings(ratings: &[DepartmentRating]) -> Vec<(&DepartmentRating, u32)> {
    let mut by_department: BTreeMap<&str, Vec<&DepartmentRating>> = BTreeMap::new();
    for r in ratings {
        by_department.entry(r.department.as_str()).or_default().push(r);
    }
    by_department
        .into_values()
        .filter_map(|list| {
            let replaced = list.len() as u32 - 1;
            list.into_iter().max_by(|a, b| (a.at, &a.rating_id).cmp(&(b.at, &b.rating_id))).map(|r| (r, replaced))
        })
        .collect()
}

/// A department's standing rating as a result, with the configured aspects' names.
pub fn department_result(aspects: &[CatalogueEntry], rating: &DepartmentRating, replaced: u32) -> DepartmentResult {
    let aspects: Vec<AspectScore> = aspects
        .iter()
        .enumerate()
        .map(|(n, a)| AspectScore {
            aspect: a.code.clone(),
            name_zh: a.name_zh.clone(),
            name_en: a.name_en.clone(),
            score: answer_to(&rating.aspects, &rating.scores, n, &a.code),
        })
        .collect();
    DepartmentResult {
        department: rating.department.clone(),
        rating_id: rating.rating_id.clone(),
        average: average(aspects.iter().filter_map(|a| a.score)),
        aspects,
        actor: rating.actor.clone(),
        at: rating.at,
        replaced,
    }
}

/// A year's department report over `ratings` (that year's): one standing rating per department.
pub fn department_report(year: u32, aspects: &[CatalogueEntry], ratings: &[DepartmentRating]) -> DepartmentReport {
    let departments =
        standing_ratings(ratings).into_iter().map(|(r, replaced)| department_result(aspects, r, replaced)).collect();
    DepartmentReport { year, departments }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, FixedOffset};

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).expect("fixed time")
    }

    fn survey(id: &str, grid: &str, household: &str, answers: &[u8], when: &str) -> Survey {
        Survey {
            survey_id: id.into(),
            year: 2026,
            household_code: household.into(),
            grid: grid.into(),
            building: "1".into(),
            answers: answers.to_vec(),
            items: Vec::new(),
            visit_id: None,
            actor: "wang".into(),
            device: "d1".into(),
            role: "grid_leader".into(),
            at: at(when),
        }
    }

    fn items(n: usize) -> Vec<CatalogueEntry> {
        (0..n)
            .map(|i| CatalogueEntry { code: format!("i{i}"), name_zh: format!("项{i}"), name_en: format!("Item {i}") })
            .collect()
    }

    #[test]
    fn scores_are_bounded_and_parsed() {
        assert!(check_scores("answers", &[1, 5, 3], 3).is_ok());
        for bad in [&[1u8, 5][..], &[0, 5, 3], &[6, 5, 3], &[1, 2, 3, 4]] {
            assert!(check_scores("answers", bad, 3).is_err(), "{bad:?}");
        }
        assert_eq!(parse_scores("5, 4,3"), Some(vec![5, 4, 3]));
        for bad in ["", "5,,4", "6", "0,1", "a", &"5,".repeat(MAX_ITEMS + 1)] {
            assert_eq!(parse_scores(bad), None, "{bad}");
        }
        assert_eq!(scores_text(&[5, 4, 3]), "5,4,3");
        assert_eq!(check_department("  民政局 ").expect("name"), "民政局");
        assert!(check_department(" ").is_err() && check_department(&"局".repeat(65)).is_err());
        assert!(check_department("a\nb").is_err());
        assert!(check_year(2026).is_ok() && check_year(1999).is_err() && check_year(2101).is_err());
        assert_eq!(average([4, 5, 5]), Some(4.67));
        assert_eq!(average(Vec::<u8>::new()), None);
    }

    /// The earliest survey of a household stands whatever order they arrive in; the later is a duplicate.
    #[test]
    fn the_earliest_survey_of_a_household_stands() {
        let a = survey("0002", "G01", "H1", &[5, 5], "2026-03-01T10:00:00+08:00");
        let b = survey("0001", "G01", "H1", &[1, 1], "2026-03-01T11:00:00+08:00");
        let tie = survey("0003", "G01", "H1", &[2, 2], "2026-03-01T10:00:00+08:00");
        for order in [vec![a.clone(), b.clone(), tie.clone()], vec![tie.clone(), b.clone(), a.clone()]] {
            let (standing, duplicates) = standing_surveys(&order);
            assert_eq!(standing.iter().map(|s| s.survey_id.as_str()).collect::<Vec<_>>(), ["0002"]);
            assert_eq!(duplicates.len(), 2);
        }
        let summary = survey_summary(None, &items(2), &[a, b, tie]);
        assert_eq!((summary.households_surveyed, summary.duplicates, summary.average), (1, 2, Some(5.0)));
    }

    #[test]
    fn a_report_averages_per_item_per_grid_and_overall() {
        let surveys = vec![
            survey("1", "G10", "H1", &[5, 4, 3], "2026-03-01T10:00:00+08:00"),
            survey("2", "G2", "H2", &[4, 4, 4], "2026-03-02T10:00:00+08:00"),
            survey("3", "G2", "H3", &[3, 5], "2026-03-03T10:00:00+08:00"),
        ];
        let r = survey_report(2026, None, &items(3), &surveys);
        assert_eq!(r.total.households_surveyed, 3);
        let averages: Vec<Option<f64>> = r.total.items.iter().map(|i| i.average).collect();
        assert_eq!(averages, [Some(4.0), Some(4.33), Some(3.5)]);
        assert_eq!(r.total.items[2].answers, 2, "a survey answering fewer items counts for those it answers");
        assert_eq!(r.total.average, Some(4.0));
        let grids: Vec<(&str, u32)> =
            r.grids.iter().map(|g| (g.grid.as_deref().unwrap_or_default(), g.households_surveyed)).collect();
        assert_eq!(grids, [("G2", 2), ("G10", 1)]);
        let empty = survey_report(2026, Some("G1"), &items(3), &[]);
        assert_eq!((empty.total.households_surveyed, empty.total.average), (0, None));
        assert_eq!(empty.total.grid.as_deref(), Some("G1"));
    }

    /// The latest rating of a department stands whatever order they arrive in; earlier ones are replaced.
    #[test]
    fn the_latest_rating_of_a_department_stands() {
        let rating = |id: &str, department: &str, scores: &[u8], when: &str| DepartmentRating {
            rating_id: id.into(),
            year: 2026,
            department: department.into(),
            scores: scores.to_vec(),
            aspects: Vec::new(),
            actor: "li".into(),
            device: "d2".into(),
            role: "station".into(),
            at: at(when),
        };
        let first = rating("0001", "民政局", &[2, 2], "2026-12-01T10:00:00+08:00");
        let later = rating("0002", "民政局", &[5, 4], "2026-12-02T10:00:00+08:00");
        let tie = rating("0000", "民政局", &[1, 1], "2026-12-02T10:00:00+08:00");
        let other = rating("0003", "城管局", &[3, 3], "2026-12-01T10:00:00+08:00");
        for order in [vec![first.clone(), later.clone(), tie.clone(), other.clone()], vec![other, tie, later, first]] {
            let r = department_report(2026, &items(3), &order);
            let got: Vec<(&str, &str, Option<f64>, u32)> = r
                .departments
                .iter()
                .map(|d| (d.department.as_str(), d.rating_id.as_str(), d.average, d.replaced))
                .collect();
            assert_eq!(got, [("城管局", "0003", Some(3.0), 0), ("民政局", "0002", Some(4.5), 2)]);
            assert_eq!(r.departments[1].aspects.iter().map(|a| a.score).collect::<Vec<_>>(), [Some(5), Some(4), None]);
        }
    }

    /// An answer belongs to the item it was given for: after the configuration reorders, drops and adds items,
    /// each answer still counts for its own item (by code), a dropped item's answers count nowhere, and an
    /// added item has no answer from surveys recorded before it. An entry without codes follows positions.
    #[test]
    fn answers_follow_their_item_codes_across_configuration_changes() {
        let codes = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let then = Survey {
            items: codes(&["i0", "i1", "i2"]),
            ..survey("1", "G01", "H1", &[5, 1, 3], "2026-03-01T10:00:00+08:00")
        };
        let old = survey("2", "G01", "H2", &[4, 2, 2], "2026-03-01T10:00:00+08:00");
        // Now: i2 first, i0 next, i1 dropped, i9 added.
        let now = vec![
            CatalogueEntry { code: "i2".into(), name_zh: "项2".into(), name_en: "Item 2".into() },
            CatalogueEntry { code: "i0".into(), name_zh: "项0".into(), name_en: "Item 0".into() },
            CatalogueEntry { code: "i9".into(), name_zh: "项9".into(), name_en: "Item 9".into() },
        ];
        let s = survey_summary(None, &now, std::slice::from_ref(&then));
        let got: Vec<(&str, Option<f64>)> = s.items.iter().map(|i| (i.item.as_str(), i.average)).collect();
        assert_eq!(got, [("i2", Some(3.0)), ("i0", Some(5.0)), ("i9", None)]);
        assert_eq!(s.average, Some(4.0), "the dropped item's answer counts nowhere");
        // Without codes, positions: the old entry's first answer counts for the first item.
        let s = survey_summary(None, &now, &[old]);
        assert_eq!(s.items.iter().map(|i| i.average).collect::<Vec<_>>(), [Some(4.0), Some(2.0), Some(2.0)]);
        let rating = DepartmentRating {
            rating_id: "0001".into(),
            year: 2026,
            department: "民政局".into(),
            scores: vec![5, 1, 3],
            aspects: codes(&["i0", "i1", "i2"]),
            actor: "li".into(),
            device: "d2".into(),
            role: "station".into(),
            at: at("2026-12-01T10:00:00+08:00"),
        };
        let r = department_report(2026, &now, &[rating]);
        assert_eq!(r.departments[0].aspects.iter().map(|a| a.score).collect::<Vec<_>>(), [Some(3), Some(5), None]);
        assert_eq!(r.departments[0].average, Some(4.0));
        assert_eq!(parse_codes(""), Some(vec![]));
        assert_eq!(parse_codes("a,b"), Some(codes(&["a", "b"])));
        for bad in ["a,a", "a,", ",", "a\nb", &"a,".repeat(100_000), &"x".repeat(65)] {
            assert_eq!(parse_codes(bad), None, "{bad:?}");
        }
        assert_eq!(codes_text(&codes(&["a", "b"])), "a,b");
    }
}
