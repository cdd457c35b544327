//! Writing the ledger: one sheet per section, headers in Chinese (default) or English.
//!
//! - XLSX (`rust_xlsxwriter`): one worksheet per section, bold header row, frozen under the header.
//! - CSV: **one file holding every section**, UTF-8 with a byte-order mark so Excel reads Chinese text
//!   correctly. Each section is a title row (the sheet name), a header row and its rows, followed by one empty
//!   line. One file keeps the ledger a single attachment, as the paper ledger was one book.

use rust_xlsxwriter::{Format, Workbook};

use super::Ledger;
use crate::codes::coded_enum;
use crate::error::{Error, Result};

coded_enum! {
    #[codes(field = "lang", name = "language", list = true)]
    /// Header language.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum Lang {
        /// 中文 (default).
        #[default]
        Zh = "zh",
        /// English.
        En = "en",
    }
}

impl Lang {
    fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// One cell of a sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number.
    Num(f64),
    /// Nothing.
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<&String> for Cell {
    fn from(s: &String) -> Cell {
        Cell::Text(s.clone())
    }
}
impl From<u32> for Cell {
    fn from(n: u32) -> Cell {
        Cell::Num(f64::from(n))
    }
}
impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Num(n as f64)
    }
}
impl From<u64> for Cell {
    fn from(n: u64) -> Cell {
        Cell::Num(n as f64)
    }
}
impl From<f64> for Cell {
    fn from(n: f64) -> Cell {
        Cell::Num(n)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Cell {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// One section of the ledger as a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// Sheet name (≤ 31 characters, as Excel requires).
    pub name: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
}

fn sheet(lang: Lang, name: (&str, &str), headers: &[(&str, &str)], rows: Vec<Vec<Cell>>) -> Sheet {
    Sheet {
        name: lang.pick(name.0, name.1).to_string(),
        headers: headers.iter().map(|(zh, en)| lang.pick(zh, en).to_string()).collect(),
        rows,
    }
}

fn pair(label: &str, value: impl Into<Cell>) -> Vec<Cell> {
    vec![label.into(), value.into()]
}

impl Ledger {
    /// The ledger's sections as sheets: summary, special care, services, incidents, stage times, check-ins,
    /// visits, incident events, service orders, volunteer points, honour roll, residents' survey, department
    /// ratings.
    pub fn sheets(&self, lang: Lang) -> Vec<Sheet> {
        let s = &self.summary;
        let l = |zh: &'static str, en: &'static str| lang.pick(zh, en);
        let mut summary = vec![
            pair(l("月份", "Month"), s.month.as_str()),
            pair(l("网格", "Grid"), s.grid.clone().unwrap_or_else(|| l("全社区", "whole community").into())),
            pair(l("统计截至", "Figures up to"), s.cut_off.to_string()),
            pair(l("户数", "Households"), s.households),
            pair(l("已入户户数", "Households contacted"), s.households_contacted),
            pair(l("入户率", "Check-in rate"), s.checkin_rate),
            pair(l("入户记录数", "Check-ins"), s.check_ins),
            pair(l("访视次数", "Visits"), s.visits),
            pair(l("服务人次", "Services delivered"), s.services_delivered),
            pair(l("访视平均满意度", "Average visit satisfaction"), s.visit_satisfaction),
            pair(l("特殊人群应联系次数", "Special-care contacts required"), s.special_care.required),
            pair(l("特殊人群已联系次数", "Special-care contacts done"), s.special_care.done),
            pair(l("特殊人群联系完成率", "Special-care completion rate"), s.special_care.rate),
            pair(l("逾期未联系人数", "Residents overdue"), s.residents_overdue),
            pair(l("事件上报数", "Incidents reported"), s.incidents.reported),
            pair(l("事件逾期数", "Incidents overdue"), s.incidents.overdue),
            pair(l("居民评单数", "Evaluations"), s.incidents.evaluations),
            pair(l("评单满意率", "Evaluation satisfaction rate"), s.satisfaction_rate),
        ];
        summary.extend(s.visits_by_kind.iter().map(|(k, n)| pair(&format!("{} {k}", l("访视", "visits")), *n)));
        summary.push(pair(l("服务订单数", "Service orders"), s.orders.values().sum::<u32>()));
        summary.extend(s.orders.iter().map(|(k, n)| pair(&format!("{} {k}", l("服务订单", "orders")), *n)));
        summary.push(pair(l("本月发放积分", "Points credited"), s.points_credited));
        summary.push(pair(l("本月兑换积分", "Points redeemed"), s.points_redeemed));
        summary.push(pair(l("问题清单需求数", "Needs on the needs list"), s.needs));
        summary.push(pair(l("服务项目数", "Service projects"), s.projects));
        summary.push(pair(l("已结项项目数", "Projects done"), s.projects_done));
        summary.push(pair(l("本月项目评价数", "Project ratings this month"), s.project_ratings));
        summary.push(pair(l("本年度满意度测评户数", "Households surveyed this year"), s.households_surveyed));
        summary.push(pair(l("本年度满意度平均分", "Survey average this year"), s.survey_average));
        summary.push(pair(l("本年度评议部门数", "Departments rated this year"), s.departments_rated));
        let care = self
            .special_care
            .iter()
            .map(|c| {
                vec![
                    (&c.category).into(),
                    lang.pick(&c.name_zh, &c.name_en).into(),
                    c.residents.into(),
                    c.contacts.required.into(),
                    c.contacts.done.into(),
                    c.contacts.rate.into(),
                ]
            })
            .collect();
        let services = self
            .services
            .iter()
            .map(|c| {
                vec![(&c.service).into(), lang.pick(&c.name_zh, &c.name_en).into(), c.delivered.into(), c.needed.into()]
            })
            .collect();
        let incidents =
            self.incidents.iter().map(|c| vec![(&c.category).into(), c.stage.code().into(), c.count.into()]).collect();
        let stages = self
            .stage_times
            .iter()
            .map(|t| vec![t.stage.code().into(), t.handled.into(), t.median_minutes.into(), t.overdue.into()])
            .collect();
        let check_ins = self
            .check_ins
            .iter()
            .map(|c| {
                vec![
                    c.day.to_string().into(),
                    c.at.to_rfc3339().into(),
                    (&c.grid).into(),
                    (&c.household_code).into(),
                    (&c.address).into(),
                    c.kind.code().into(),
                    c.outcome.code().into(),
                    (&c.note).into(),
                    (&c.author).into(),
                ]
            })
            .collect();
        let visits = self
            .visits
            .iter()
            .map(|v| {
                vec![
                    v.day.to_string().into(),
                    (&v.at).into(),
                    (&v.grid).into(),
                    (&v.household_code).into(),
                    v.residents.join("、").into(),
                    (&v.kind).into(),
                    v.duration_min.into(),
                    v.services.join(";").into(),
                    (&v.needs).into(),
                    v.need_tags.join(";").into(),
                    v.follow_up.clone().into(),
                    v.satisfaction.map(u32::from).into(),
                    (&v.author).into(),
                ]
            })
            .collect();
        let events = self
            .incident_events
            .iter()
            .map(|e| {
                vec![
                    (&e.incident_id).into(),
                    (&e.grid).into(),
                    (&e.category).into(),
                    e.severity.code().into(),
                    (&e.title).into(),
                    e.seq.into(),
                    (&e.action).into(),
                    (&e.actor).into(),
                    (&e.role).into(),
                    (&e.at).into(),
                    l(if e.applied { "是" } else { "否" }, if e.applied { "yes" } else { "no" }).into(),
                    e.stage_after.map(|s| s.code()).into(),
                    e.superseded_reason.map(|r| r.code()).into(),
                    (&e.note).into(),
                ]
            })
            .collect();
        let orders = self
            .orders
            .iter()
            .map(|o| {
                vec![
                    (&o.order_id).into(),
                    (&o.grid).into(),
                    (&o.service).into(),
                    (&o.household_code).into(),
                    o.volunteer.clone().into(),
                    o.stage.code().into(),
                    o.requested_at.to_rfc3339().into(),
                    o.done_at.map(|t| t.to_rfc3339()).into(),
                    o.rating.map(u32::from).into(),
                ]
            })
            .collect();
        let volunteer_points = self
            .volunteer_points
            .iter()
            .map(|v| vec![(&v.volunteer).into(), v.earned.into(), v.redeemed.into(), v.balance.into()])
            .collect();
        let honour_roll = self
            .honour_roll
            .iter()
            .enumerate()
            .map(|(n, r)| {
                vec![
                    (n as u32 + 1).into(),
                    (&r.volunteer).into(),
                    r.orders.into(),
                    ((f64::from(r.minutes) / 6.0).round() / 10.0).into(),
                    r.points.into(),
                ]
            })
            .collect();
        let (needs, projects, project_ratings) = self.project_sheets(lang);
        let mut sheets = vec![
            sheet(lang, ("概况", "Summary"), &[("项目", "Item"), ("数值", "Value")], summary),
            sheet(
                lang,
                ("特殊人群联系", "Special care"),
                &[
                    ("类别代码", "Category"),
                    ("类别", "Name"),
                    ("人数", "Residents"),
                    ("应联系", "Required"),
                    ("已联系", "Done"),
                    ("完成率", "Rate"),
                ],
                care,
            ),
            sheet(
                lang,
                ("服务项目", "Services"),
                &[("服务代码", "Service"), ("服务", "Name"), ("提供次数", "Delivered"), ("发现需求", "Needed")],
                services,
            ),
            sheet(
                lang,
                ("事件统计", "Incidents"),
                &[("类别", "Category"), ("阶段", "Stage"), ("数量", "Count")],
                incidents,
            ),
            sheet(
                lang,
                ("办理时长", "Handling time"),
                &[
                    ("阶段", "Stage"),
                    ("办结次数", "Handled"),
                    ("中位时长(分钟)", "Median minutes"),
                    ("逾期", "Overdue"),
                ],
                stages,
            ),
            sheet(
                lang,
                ("入户记录", "Check-ins"),
                &[
                    ("日期", "Day"),
                    ("时间", "Time"),
                    ("网格", "Grid"),
                    ("户号", "Household"),
                    ("地址", "Address"),
                    ("方式", "Kind"),
                    ("结果", "Outcome"),
                    ("备注", "Note"),
                    ("记录人", "By"),
                ],
                check_ins,
            ),
            sheet(
                lang,
                ("访视记录", "Visits"),
                &[
                    ("日期", "Day"),
                    ("时间", "Time"),
                    ("网格", "Grid"),
                    ("户号", "Household"),
                    ("对象", "Residents"),
                    ("方式", "Kind"),
                    ("时长(分钟)", "Minutes"),
                    ("服务", "Services"),
                    ("发现需求", "Needs"),
                    ("需求类别", "Need tags"),
                    ("回访日期", "Follow-up"),
                    ("满意度", "Satisfaction"),
                    ("社工", "By"),
                ],
                visits,
            ),
            sheet(
                lang,
                ("事件流转", "Incident events"),
                &[
                    ("事件编号", "Incident"),
                    ("网格", "Grid"),
                    ("类别", "Category"),
                    ("紧急程度", "Severity"),
                    ("标题", "Title"),
                    ("序号", "Seq"),
                    ("操作", "Action"),
                    ("操作人", "Actor"),
                    ("角色", "Role"),
                    ("时间", "Time"),
                    ("有效", "Applied"),
                    ("之后阶段", "Stage after"),
                    ("失效原因", "Superseded because"),
                    ("说明", "Note"),
                ],
                events,
            ),
            sheet(
                lang,
                ("服务订单", "Service orders"),
                &[
                    ("订单编号", "Order"),
                    ("网格", "Grid"),
                    ("服务", "Service"),
                    ("户号", "Household"),
                    ("志愿者", "Volunteer"),
                    ("阶段", "Stage"),
                    ("点单时间", "Requested"),
                    ("完成时间", "Done"),
                    ("评分", "Rating"),
                ],
                orders,
            ),
            sheet(
                lang,
                ("志愿者积分", "Volunteer points"),
                &[("志愿者", "Volunteer"), ("本月获得", "Earned"), ("本月兑换", "Redeemed"), ("积分余额", "Balance")],
                volunteer_points,
            ),
            sheet(
                lang,
                ("荣誉墙", "Honour roll"),
                &[
                    ("排名", "Rank"),
                    ("志愿者", "Volunteer"),
                    ("服务单数", "Orders"),
                    ("服务时长(小时)", "Hours"),
                    ("积分", "Points"),
                ],
                honour_roll,
            ),
            needs,
            projects,
            project_ratings,
        ];
        sheets.push(self.survey_sheet(lang));
        sheets.push(self.departments_sheet(lang));
        sheets
    }

    /// 居民满意度测评: the residents' survey of the month's year, one row per grid and one for all of them —
    /// households surveyed, duplicates left out, the overall average and one column per survey item.
    fn survey_sheet(&self, lang: Lang) -> Sheet {
        let r = &self.survey;
        let mut headers: Vec<String> = [
            ("年度", "Year"),
            ("网格", "Grid"),
            ("测评户数", "Households surveyed"),
            ("重复测评", "Duplicates"),
            ("总平均分", "Average"),
        ]
        .iter()
        .map(|(zh, en)| lang.pick(zh, en).to_string())
        .collect();
        headers.extend(r.total.items.iter().map(|i| lang.pick(&i.name_zh, &i.name_en).to_string()));
        let all = lang.pick("全部", "All").to_string();
        let rows = r
            .grids
            .iter()
            .chain(std::iter::once(&r.total))
            .map(|g| {
                let mut row: Vec<Cell> = vec![
                    r.year.into(),
                    g.grid.clone().unwrap_or_else(|| all.clone()).into(),
                    g.households_surveyed.into(),
                    g.duplicates.into(),
                    g.average.into(),
                ];
                row.extend(g.items.iter().map(|i| Cell::from(i.average)));
                row
            })
            .collect();
        Sheet { name: lang.pick("居民满意度测评", "Residents' survey").to_string(), headers, rows }
    }

    /// 部门评议: the community's ratings of departments for the month's year, one row per department — its
    /// average, ratings it replaced, who rated it, and one column per aspect.
    fn departments_sheet(&self, lang: Lang) -> Sheet {
        let r = &self.departments;
        let mut headers: Vec<String> = [
            ("年度", "Year"),
            ("部门", "Department"),
            ("平均分", "Average"),
            ("被替换的评议", "Replaced ratings"),
            ("评议人", "Rated by"),
            ("评议时间", "Rated at"),
        ]
        .iter()
        .map(|(zh, en)| lang.pick(zh, en).to_string())
        .collect();
        let names = r.departments.first().map(|d| d.aspects.as_slice()).unwrap_or_default();
        headers.extend(names.iter().map(|a| lang.pick(&a.name_zh, &a.name_en).to_string()));
        let rows = r
            .departments
            .iter()
            .map(|d| {
                let mut row: Vec<Cell> = vec![
                    r.year.into(),
                    (&d.department).into(),
                    d.average.into(),
                    d.replaced.into(),
                    (&d.actor).into(),
                    d.at.to_rfc3339().into(),
                ];
                row.extend(d.aspects.iter().map(|a| Cell::from(a.score.map(u32::from))));
                row
            })
            .collect();
        Sheet { name: lang.pick("部门评议", "Department ratings").to_string(), headers, rows }
    }

    /// The needs list (问题清单), the service projects (项目化) and their residents' ratings (民事民评) as sheets.
    /// The projects' sheet is named 项目化服务 because 服务项目 already names the visit services' sheet.
    fn project_sheets(&self, lang: Lang) -> (Sheet, Sheet, Sheet) {
        let needs = self
            .needs
            .iter()
            .flat_map(|n| {
                n.by_building.iter().map(move |b| {
                    vec![
                        (&n.need).into(),
                        lang.pick(&n.name_zh, &n.name_en).into(),
                        (&b.grid).into(),
                        (&b.building).into(),
                        b.households.into(),
                        b.visits.into(),
                        b.requests.into(),
                        n.households.into(),
                        n.first_seen.to_string().into(),
                        n.last_seen.to_string().into(),
                        n.project_id.clone().into(),
                    ]
                })
            })
            .collect();
        let projects = self
            .projects
            .iter()
            .map(|p| {
                vec![
                    (&p.project_id).into(),
                    (&p.title).into(),
                    (&p.category).into(),
                    (&p.organisation).into(),
                    p.budget_yuan.into(),
                    p.needs.join(";").into(),
                    p.from.map(|d| d.to_string()).into(),
                    p.to.map(|d| d.to_string()).into(),
                    p.status.code().into(),
                    p.created_at.to_rfc3339().into(),
                    p.done_at.map(|t| t.to_rfc3339()).into(),
                    p.rating_count.into(),
                    p.rating_average.into(),
                ]
            })
            .collect();
        let title = |id: &str| self.projects.iter().find(|p| p.project_id == id).map(|p| p.title.clone());
        let ratings = self
            .project_ratings
            .iter()
            .map(|r| {
                vec![
                    (&r.project_id).into(),
                    title(&r.project_id).into(),
                    (&r.grid).into(),
                    (&r.building).into(),
                    (&r.household_code).into(),
                    r.rating.into(),
                    (&r.note).into(),
                    (&r.actor).into(),
                    (&r.at).into(),
                    state_name(lang, r.state).into(),
                ]
            })
            .collect();
        (
            sheet(
                lang,
                ("问题清单", "Needs list"),
                &[
                    ("需求代码", "Need"),
                    ("需求", "Name"),
                    ("网格", "Grid"),
                    ("楼栋", "Building"),
                    ("户数", "Households"),
                    ("访视发现", "Visits"),
                    ("点单次数", "Requests"),
                    ("全社区户数", "Households in all"),
                    ("首次发现", "First seen"),
                    ("最近发现", "Last seen"),
                    ("对应项目", "Project"),
                ],
                needs,
            ),
            sheet(
                lang,
                ("项目化服务", "Service projects"),
                &[
                    ("项目编号", "Project"),
                    ("项目名称", "Title"),
                    ("类别", "Category"),
                    ("承接机构", "Organisation"),
                    ("预算(元)", "Budget (yuan)"),
                    ("对应需求", "Needs"),
                    ("开始日期", "From"),
                    ("结束日期", "To"),
                    ("状态", "Status"),
                    ("创建时间", "Created"),
                    ("结项时间", "Done"),
                    ("评价户数", "Households rating"),
                    ("平均评分", "Average rating"),
                ],
                projects,
            ),
            sheet(
                lang,
                ("项目评价", "Project ratings"),
                &[
                    ("项目编号", "Project"),
                    ("项目名称", "Title"),
                    ("网格", "Grid"),
                    ("楼栋", "Building"),
                    ("户号", "Household"),
                    ("评分", "Rating"),
                    ("评价意见", "Note"),
                    ("记录人", "Recorded by"),
                    ("时间", "Time"),
                    ("计入", "Counts"),
                ],
                ratings,
            ),
        )
    }

    /// The ledger as one CSV file (UTF-8 with BOM; every section in turn, see the module docs).
    pub fn to_csv(&self, lang: Lang) -> Result<Vec<u8>> {
        write_csv(&self.sheets(lang))
    }

    /// The ledger as an XLSX workbook, one worksheet per section.
    pub fn to_xlsx(&self, lang: Lang) -> Result<Vec<u8>> {
        write_xlsx(&self.sheets(lang))
    }
}

/// What became of a rating, in the ledger's language.
fn state_name(lang: Lang, state: crate::project::RatingState) -> &'static str {
    use crate::project::RatingState;
    match state {
        RatingState::Stands => lang.pick("有效", "stands"),
        RatingState::Replaced => lang.pick("已被替换", "replaced"),
        RatingState::ProjectNotDone => lang.pick("项目未结项", "project not done"),
        RatingState::Invalid => lang.pick("无效", "invalid"),
    }
}

fn csv_err(e: impl std::fmt::Display) -> Error {
    Error::Io(format!("csv: {e}"))
}

/// Writes sheets as one CSV (UTF-8 with BOM): per sheet a title row, a header row, the rows, an empty line.
pub fn write_csv(sheets: &[Sheet]) -> Result<Vec<u8>> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new().flexible(true).from_writer(&mut out);
        for s in sheets {
            w.write_record([&s.name]).map_err(csv_err)?;
            w.write_record(&s.headers).map_err(csv_err)?;
            for row in &s.rows {
                w.write_record(row.iter().map(|c| match c {
                    Cell::Text(t) => t.clone(),
                    Cell::Num(n) => n.to_string(),
                    Cell::Empty => String::new(),
                }))
                .map_err(csv_err)?;
            }
            w.write_record([""]).map_err(csv_err)?;
        }
        w.flush().map_err(csv_err)?;
    }
    Ok(out)
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Io(format!("xlsx: {e}"))
}

/// Writes sheets as an XLSX workbook, one worksheet per sheet.
pub fn write_xlsx(sheets: &[Sheet]) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for s in sheets {
        // Constant-memory sheets stream each finished row to a temporary file with inline strings: a month of
        // 60,000 check-ins writes in about half the time and a fraction of the memory of the default mode.
        let ws = book.add_worksheet_with_constant_memory();
        ws.set_name(&s.name).map_err(xlsx_err)?;
        for (c, h) in s.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold).map_err(xlsx_err)?;
        }
        ws.set_freeze_panes(1, 0).map_err(xlsx_err)?;
        for (r, row) in s.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(|_| Error::invalid("ledger", "too many rows for one sheet"))?;
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Text(t) => ws.write_string(r, c as u16, t).map(|_| ()),
                    Cell::Num(n) => ws.write_number(r, c as u16, *n).map(|_| ()),
                    Cell::Empty => Ok(()),
                }
                .map_err(xlsx_err)?;
            }
        }
    }
    book.save_to_buffer().map_err(xlsx_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_bom_and_every_section() {
        let sheets = vec![
            Sheet {
                name: "概况".into(), headers: vec!["项目".into(), "数值".into()], rows: vec![pair("户数", 3u32)]
            },
            Sheet { name: "入户记录".into(), headers: vec!["日期".into()], rows: vec![vec![Cell::Empty]] },
        ];
        let bytes = write_csv(&sheets).expect("csv");
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(bytes[3..].to_vec()).expect("utf-8");
        assert_eq!(text, "概况\n项目,数值\n户数,3\n\"\"\n入户记录\n日期\n\"\"\n\"\"\n");
    }
}
