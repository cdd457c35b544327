//! The two-way evaluation (双评议) on the device: recording a household's yearly survey of the community and
//! the community's yearly rating of a department, and the reports. Entries go into their year's document
//! and, in the same transaction, into the `survey` and `department_rating` tables; which entry stands and
//! what they average to is `crate::evaluation`, worked out when read.

use chrono::Datelike;

use super::db::{evaluations, visits};
use super::{actor_of, DeviceInfo, Store};
use crate::docs::{self, DocId};
use crate::error::{Error, Result};
use crate::evaluation::{self, check_department, check_scores, check_year};
use crate::model::{DepartmentRating, DepartmentReport, DepartmentResult, NewSurvey, Survey, SurveyReport};

impl Store {
    /// Records a household's survey of the community for this year (in the community's time zone), durably.
    /// Refused — nothing written — with `already_surveyed` when this device already holds a survey of the
    /// household for the year, `invalid_input` when the answers are not one per configured item, each 1–5,
    /// `household_not_found` or `action_not_allowed` (another grid, or a role that records no survey).
    pub fn survey_record(&mut self, input: NewSurvey) -> Result<Survey> {
        let household = self.household_to_record(&input.household_code)?;
        if household.moved_out {
            return Err(Error::invalid("household", "the household has moved out"));
        }
        check_scores("answers", &input.answers, self.settings.survey_items.len())?;
        if let Some(visit) = &input.visit_id {
            match visits::household_of(self.conn(), visit)? {
                Some((code, _)) if code == household.household_code => {}
                Some(_) => return Err(Error::invalid("visit", "the visit is of another household")),
                None => return Err(Error::NotFound { kind: "visit".into(), id: visit.clone() }),
            }
        }
        let at = self.now_local();
        let year = u32::try_from(at.year()).map_err(|_| Error::invalid("year", "before the common era"))?;
        check_year(year)?;
        let id = DocId::survey(&self.device.community_id, &household.grid, year);
        if !self.device.scope().may_write(&id) {
            return Err(Error::ActionNotAllowed(format!("role {} records no survey", self.device.role.code())));
        }
        let earlier = evaluations::surveys(self.conn(), year, Some(&household.grid), Some(&household.household_code))?;
        if evaluation::is_surveyed(&earlier, &household.household_code) {
            return Err(Error::AlreadySurveyed { household: household.household_code, year });
        }
        let survey = Survey {
            survey_id: uuid::Uuid::now_v7().to_string(),
            year,
            household_code: household.household_code,
            grid: household.grid,
            building: household.building,
            answers: input.answers,
            items: self.settings.survey_items.iter().map(|i| i.code.clone()).collect(),
            visit_id: input.visit_id,
            actor: self.device.user.clone(),
            device: self.device.device_id.clone(),
            role: self.device.role.code().to_string(),
            at,
        };
        let mut doc = self.checkout(&id)?;
        docs::survey::append(&mut doc, &survey)?;
        self.persist(vec![(id, doc)], |tx, _| evaluations::insert_survey(tx, &survey).map(|_| ()))?;
        Ok(survey)
    }

    /// The survey of `household` that stands for `year`, if it was surveyed (the earliest, see `evaluation`).
    pub fn household_survey(&self, household_code: &str, year: u32) -> Result<Option<Survey>> {
        let household = self.household_to_record(household_code)?;
        let list = evaluations::surveys(self.conn(), year, Some(&household.grid), Some(household_code))?;
        Ok(evaluation::standing_surveys(&list).0.into_iter().next().cloned())
    }

    /// The surveys of `year` in `grid` (in scope), or in the device's whole scope when `None`.
    pub fn surveys(&self, year: u32, grid: Option<&str>) -> Result<Vec<Survey>> {
        check_year(year)?;
        let grids = self.grids_for(grid)?;
        Store::per_grid(&grids, |g| evaluations::surveys(self.conn(), year, g, None))
    }

    /// The residents' survey report of `year` (`survey report`): households surveyed, averages per item,
    /// overall and per grid, for `grid` (in scope) or the device's whole scope.
    pub fn survey_report(&self, year: u32, grid: Option<&str>) -> Result<SurveyReport> {
        let surveys = self.surveys(year, grid)?;
        Ok(evaluation::survey_report(year, grid, &self.settings.survey_items, &surveys))
    }

    /// Records the community's rating of `department` for `year`, durably (committee and station only). A
    /// later rating of the same department replaces an earlier one. Returns the department's standing result.
    pub fn department_rate(&mut self, department: &str, year: u32, scores: &[u8]) -> Result<DepartmentResult> {
        let by = self.device.clone();
        let (id, rating) = self.department_rating(&by, department, year, scores)?;
        let mut doc = self.checkout(&id)?;
        docs::department::append(&mut doc, &rating)?;
        self.persist(vec![(id, doc)], |tx, _| evaluations::insert_rating(tx, &rating).map(|_| ()))?;
        self.department_result(year, &rating.department)
    }

    /// Prepares `by`'s rating of `department` as the change their actor would make, after the same checks as
    /// [`Store::department_rate`]; the store itself is left unchanged (the console's form). Returns the
    /// ratings document's id, the change (raw bytes) for the server to check and store, and the rating's id.
    pub fn department_rate_change(
        &mut self,
        by: &DeviceInfo,
        department: &str,
        year: u32,
        scores: &[u8],
    ) -> Result<(DocId, Vec<u8>, String)> {
        let (id, rating) = self.department_rating(by, department, year, scores)?;
        let actor = actor_of(&by.device_id)?;
        let mut doc = match self.checkout_existing(&id)? {
            Some(mut doc) => {
                doc.set_actor(actor);
                doc
            }
            None => docs::new_document(&id, &actor)?,
        };
        docs::department::append(&mut doc, &rating)?;
        doc.commit();
        // The working copy is dropped, not given back: the store reloads the document as it was.
        let change = doc.get_last_local_change().map(|c| c.raw_bytes().to_vec());
        let change = change.ok_or_else(|| Error::Store("the rating wrote no change".into()))?;
        Ok((id, change, rating.rating_id))
    }

    /// Checks `by`'s rating and makes the record: the role, the department's name, the year and one score
    /// per configured aspect, each 1–5.
    fn department_rating(
        &self,
        by: &DeviceInfo,
        department: &str,
        year: u32,
        scores: &[u8],
    ) -> Result<(DocId, DepartmentRating)> {
        check_year(year)?;
        let id = DocId::departments(&self.device.community_id, year);
        if !by.scope().may_write(&id) {
            return Err(Error::ActionNotAllowed(format!(
                "role {} may not rate departments (committee and station do)",
                by.role.code()
            )));
        }
        let department = check_department(department)?;
        check_scores("scores", scores, self.settings.department_aspects.len())?;
        let rating = DepartmentRating {
            rating_id: uuid::Uuid::now_v7().to_string(),
            year,
            department,
            scores: scores.to_vec(),
            aspects: self.settings.department_aspects.iter().map(|a| a.code.clone()).collect(),
            actor: by.user.clone(),
            device: by.device_id.clone(),
            role: by.role.code().to_string(),
            at: self.now_local(),
        };
        Ok((id, rating))
    }

    /// The department ratings of `year` (`department report`): the standing rating of each department.
    pub fn department_report(&self, year: u32) -> Result<DepartmentReport> {
        check_year(year)?;
        if !self.device.scope().may_read(&DocId::departments(&self.device.community_id, year)) {
            return Err(Error::ActionNotAllowed(format!(
                "role {} reads no department rating",
                self.device.role.code()
            )));
        }
        let ratings = evaluations::ratings(self.conn(), year)?;
        Ok(evaluation::department_report(year, &self.settings.department_aspects, &ratings))
    }

    /// The standing result of `department` for `year`.
    pub fn department_result(&self, year: u32, department: &str) -> Result<DepartmentResult> {
        let name = check_department(department)?;
        self.department_report(year)?
            .departments
            .into_iter()
            .find(|d| d.department == name)
            .ok_or(Error::NotFound { kind: "department rating".into(), id: name })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::TestClock;
    use crate::model::Role;
    use crate::store::fixtures::{self, COMMUNITY};
    use crate::ErrorCode;

    const ROSTER: &[&str] = &[
        "G01,1,1,3,301,H001,王秀英,F,1942,13800000001,,elderly_alone,",
        "G01,2,1,5,502,H002,李梅,F,1950,,,,",
        "G02,3,1,1,101,H101,李四,M,1960,,,,",
    ];

    fn store(dir: &tempfile::TempDir, user: &str, role: Role, grids: &[&str], clock: Arc<TestClock>) -> Store {
        fixtures::store_with_roster(dir.path(), user, user, role, grids, ROSTER, clock)
    }

    fn hand_over(from: &Store, to: &mut Store, id: &DocId) {
        fixtures::hand_over(from, to, id);
    }

    fn new_survey(household: &str, answers: &[u8]) -> NewSurvey {
        NewSurvey { household_code: household.into(), answers: answers.to_vec(), visit_id: None }
    }

    #[test]
    fn a_survey_is_recorded_once_per_household_and_year_and_reported() {
        let dir = tempfile::tempdir().expect("dir");
        let mut leader = store(&dir, "王网格长", Role::GridLeader, &["G01"], TestClock::morning());
        let s = leader.survey_record(new_survey("H001", &[5; 10])).expect("survey");
        assert_eq!((s.year, s.grid.as_str(), s.building.as_str()), (2026, "G01", "1"));
        let again = leader.survey_record(new_survey("H001", &[1; 10])).map_err(|e| e.code());
        assert_eq!(again, Err(ErrorCode::AlreadySurveyed));
        for bad in [&[5u8; 9][..], &[5; 11], &[0, 5, 5, 5, 5, 5, 5, 5, 5, 5], &[6; 10]] {
            let refused = leader.survey_record(new_survey("H002", bad)).map_err(|e| e.code());
            assert_eq!(refused, Err(ErrorCode::InvalidInput), "{bad:?}");
        }
        let outside = leader.survey_record(new_survey("H101", &[5; 10])).map_err(|e| e.code());
        assert_eq!(outside, Err(ErrorCode::HouseholdNotFound), "not in this device's roster");
        let mut answers = [4u8; 10];
        answers[0] = 2;
        leader.survey_record(new_survey("H002", &answers)).expect("second household");
        let r = leader.survey_report(2026, None).expect("report");
        assert_eq!((r.total.households_surveyed, r.total.duplicates), (2, 0));
        assert_eq!(r.total.items[0].average, Some(3.5));
        assert_eq!(r.total.items[1].average, Some(4.5));
        assert_eq!(r.total.average, Some(4.4));
        assert_eq!(leader.survey_report(2025, None).expect("empty year").total.households_surveyed, 0);
        assert_eq!(leader.household_survey("H001", 2026).expect("read").map(|v| v.survey_id), Some(s.survey_id));
        let visit = leader.survey_record(NewSurvey {
            visit_id: Some(uuid::Uuid::now_v7().to_string()),
            ..new_survey("H001", &[5; 10])
        });
        assert_eq!(visit.map_err(|e| e.code()), Err(ErrorCode::NotFound), "a visit this device does not hold");
    }

    /// The community changes its survey items mid-year (drops the first, adds one at the front): the
    /// surveys already recorded keep their answers on the items they answered, and the next survey answers
    /// the new list.
    #[test]
    fn a_mid_year_change_of_the_items_keeps_each_answer_on_its_item() {
        let dir = tempfile::tempdir().expect("dir");
        let mut leader = store(&dir, "王网格长", Role::GridLeader, &["G01"], TestClock::morning());
        let mut answers = [4u8; 10];
        answers[0] = 1;
        answers[1] = 5;
        let before = leader.survey_record(new_survey("H001", &answers)).expect("survey");
        let codes: Vec<String> = leader.settings().survey_items.iter().map(|i| i.code.clone()).collect();
        assert_eq!(before.items, codes, "the survey names the items it answered");
        let mut settings = leader.settings().clone();
        let dropped = settings.survey_items.remove(0);
        settings.survey_items.insert(
            0,
            crate::model::community::CatalogueEntry {
                code: "new_item".into(),
                name_zh: "新项目".into(),
                name_en: "New item".into(),
            },
        );
        let id = DocId::community(COMMUNITY);
        let mut doc = leader.checkout(&id).expect("community");
        docs::community::write_settings(&mut doc, &settings).expect("write");
        leader.persist(vec![(id, doc)], crate::store::index::reindex).expect("persist");

        let r = leader.survey_report(2026, None).expect("report");
        let got: Vec<(&str, Option<f64>)> = r.total.items.iter().map(|i| (i.item.as_str(), i.average)).collect();
        assert_eq!(got[0], ("new_item", None), "nobody answered the new item");
        assert_eq!(got[1], (codes[1].as_str(), Some(5.0)), "the second item keeps its answer");
        assert!(got.iter().all(|(code, _)| *code != dropped.code));
        leader.survey_record(new_survey("H002", &[3; 10])).expect("the new list");
        let r = leader.survey_report(2026, None).expect("report");
        assert_eq!((r.total.items[0].answers, r.total.items[0].average), (1, Some(3.0)));
        assert_eq!((r.total.items[1].answers, r.total.items[1].average), (2, Some(4.0)));
    }

    /// Two phones survey the same household offline: after they exchange documents both hold both surveys,
    /// the earlier stands everywhere and the later is a duplicate.
    #[test]
    fn two_offline_surveys_of_a_household_converge_to_the_earliest() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut leader = store(&dir, "王网格长", Role::GridLeader, &["G01"], c.clone());
        let mut worker = store(&dir, "赵网格员", Role::GridWorker, &["G01"], c.clone());
        let first = leader.survey_record(new_survey("H001", &[5; 10])).expect("leader");
        c.advance(chrono::Duration::minutes(30));
        worker.survey_record(new_survey("H001", &[1; 10])).expect("worker, offline");
        let id = DocId::survey(COMMUNITY, "G01", 2026);
        hand_over(&leader, &mut worker, &id);
        hand_over(&worker, &mut leader, &id);
        for s in [&leader, &worker] {
            let r = s.survey_report(2026, Some("G01")).expect("report");
            assert_eq!((r.total.households_surveyed, r.total.duplicates, r.total.average), (1, 1, Some(5.0)));
            assert_eq!(
                s.household_survey("H001", 2026).expect("read").map(|v| v.survey_id),
                Some(first.survey_id.clone())
            );
            assert_eq!(s.surveys(2026, None).expect("all").len(), 2, "both kept");
        }
    }

    #[test]
    fn departments_are_rated_by_the_committee_and_station_and_the_latest_stands() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut station = store(&dir, "李站长", Role::Station, &[], c.clone());
        let mut leader = store(&dir, "王网格长", Role::GridLeader, &["G01"], c.clone());
        let refused = leader.department_rate("区民政局", 2026, &[4; 10]).map_err(|e| e.code());
        assert_eq!(refused, Err(ErrorCode::ActionNotAllowed));
        for (name, year, scores) in [
            ("", 2026, &[4u8; 10][..]),
            ("区民政局", 1999, &[4; 10]),
            ("区民政局", 2026, &[4; 9]),
            ("区民政局", 2026, &[9; 10]),
        ] {
            let r = station.department_rate(name, year, scores).map_err(|e| e.code());
            assert_eq!(r, Err(ErrorCode::InvalidInput), "{name:?} {year} {scores:?}");
        }
        let first = station.department_rate("区民政局", 2026, &[3; 10]).expect("rate");
        assert_eq!(first.average, Some(3.0));
        c.advance(chrono::Duration::minutes(5));
        let mut scores = [5u8; 10];
        scores[9] = 4;
        let later = station.department_rate(" 区民政局 ", 2026, &scores).expect("rate again");
        assert_eq!((later.average, later.replaced), (Some(4.9), 1));
        station.department_rate("区城管局", 2026, &[2; 10]).expect("another");
        let report = station.department_report(2026).expect("report");
        let got: Vec<(&str, Option<f64>)> =
            report.departments.iter().map(|d| (d.department.as_str(), d.average)).collect();
        assert_eq!(got, [("区城管局", Some(2.0)), ("区民政局", Some(4.9))]);
        assert_eq!(report.departments[1].aspects[9].score, Some(4));
        let id = DocId::departments(COMMUNITY, 2026);
        hand_over(&station, &mut leader, &id);
        assert_eq!(leader.department_report(2026).expect("read by the grid leader"), report);
        // The console's form: the change is prepared for another account and the store is left as it was.
        let by = DeviceInfo { role: Role::Committee, user: "张主任".into(), ..station.device().clone() };
        let (doc_id, change, _) = station.department_rate_change(&by, "区卫健局", 2026, &[4; 10]).expect("change");
        assert!(doc_id == id && !change.is_empty());
        assert_eq!(station.department_report(2026).expect("unchanged").departments.len(), 2);
        let leader_info = leader.device().clone();
        let refused = station.department_rate_change(&leader_info, "区卫健局", 2026, &[4; 10]).map_err(|e| e.code());
        assert_eq!(refused, Err(ErrorCode::ActionNotAllowed));
    }
}
