//! The console's words: zh-Hans first, English on request (`gl_lang` cookie). Keys are stable codes: the
//! core's enum codes (`stage.at_station`, `action.dispatch`), its error codes (`error.action_not_allowed`)
//! and the pages' own (`queue.title`). A key without a string shows as the key itself, which a test forbids
//! for every key the pages use.

use gridline_core::model::community::CatalogueEntry;
use gridline_core::model::Role;
use gridline_core::service_workflow::{OrderAction, OrderStage};
use gridline_core::workflow::{Action, Stage, SupersededReason};
use gridline_core::ErrorCode;

/// The page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文 (default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// From the `gl_lang` cookie's value.
    pub fn from_cookie(value: Option<&str>) -> Lang {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The `lang` attribute of the page.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-Hans",
            Lang::En => "en",
        }
    }

    /// The cookie value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The other language (the toggle).
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// Words: (key, zh-Hans, English).
pub type Words = &'static [(&'static str, &'static str, &'static str)];

/// Every view's words: the shared ones here, each view's in its own file (one line per view).
const SECTIONS: &[Words] = &[
    COMMON,
    super::dashboard::WORDS,
    super::roster::WORDS,
    super::phones::WORDS,
    super::ledger::WORDS,
    super::bulk::WORDS,
    super::views::WORDS,
    super::responses::WORDS,
    super::duplicates::WORDS,
    super::household::WORDS,
    super::admin::WORDS,
    super::orders::WORDS,
    super::shop::WORDS,
    super::config::WORDS,
    super::needs::WORDS,
    super::projects::WORDS,
    super::surveys::WORDS,
];

/// Words every page shares (chrome, sign-in, queue, incident).
const COMMON: Words = &[
    ("app.name", "网格通 · 工作台", "Gridline console"),
    ("lang.switch", "English", "中文"),
    ("nav.queue", "事件队列", "Queue"),
    ("nav.dashboard", "工作概况", "Dashboard"),
    ("nav.roster", "居民名册", "Roster"),
    ("nav.phones", "手机设备", "Phones"),
    ("nav.ledger", "电子台账", "Ledger"),
    ("nav.admin", "管理", "Admin"),
    ("nav.signed_in_as", "当前用户", "Signed in as"),
    ("nav.logout", "退出登录", "Sign out"),
    ("nav.skip", "跳到正文", "Skip to content"),
    ("login.title", "登录", "Sign in"),
    ("login.user", "用户名", "User name"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Sign in"),
    ("login.failed", "用户名或密码错误。", "Wrong user name or password."),
    ("login.throttled", "尝试次数过多，请稍后再试。", "Too many attempts; try again later."),
    ("login.expired", "登录已过期，请重新登录。", "Your session expired; sign in again."),
    ("setup.title", "首次设置：创建管理员", "First start: create the administrator"),
    ("setup.community", "社区名称", "Community name"),
    ("setup.timezone", "时区", "Time zone"),
    ("setup.existing", "已有社区", "Existing community"),
    ("setup.submit", "创建管理员", "Create administrator"),
    ("setup.invalid", "该设置链接无效、已使用或已过期。", "This setup link is invalid, used or expired."),
    ("setup.password_rule", "至少 10 个字符", "At least 10 characters"),
    ("queue.title", "事件队列", "Incident queue"),
    ("queue.filters", "筛选", "Filters"),
    ("queue.stage", "阶段", "Stage"),
    ("queue.severity", "紧急程度", "Severity"),
    ("queue.grid", "网格", "Grid"),
    ("queue.category", "类别", "Category"),
    ("queue.search", "搜索标题或户号", "Search title or household"),
    ("queue.overdue_only", "仅看超时", "Overdue only"),
    ("queue.apply", "筛选", "Apply"),
    ("queue.all", "全部", "All"),
    ("queue.open", "未办结", "Open"),
    ("queue.counts", "各阶段数量", "Per stage"),
    ("queue.empty", "没有符合条件的事件。", "No incident matches."),
    ("queue.reported", "上报时间", "Reported"),
    ("queue.deadline", "时限", "Deadline"),
    ("queue.title_col", "标题", "Title"),
    ("queue.household", "户号", "Household"),
    ("queue.overdue", "已超时", "Overdue"),
    ("queue.due_in", "剩余", "Due in"),
    ("queue.day_unit", "天", "d"),
    ("queue.no_deadline", "无时限", "No deadline"),
    ("queue.page", "页", "Page"),
    ("queue.prev", "上一页", "Previous"),
    ("queue.next", "下一页", "Next"),
    ("queue.live", "实时更新已连接", "Live updates on"),
    ("queue.total", "条", "incidents"),
    ("incident.fields", "事件信息", "Incident"),
    ("incident.description", "描述", "Description"),
    ("incident.reporter", "上报人", "Reporter"),
    ("incident.photos", "照片", "Photos"),
    ("incident.history", "处理记录", "History"),
    ("incident.superseded", "已失效", "Superseded"),
    ("incident.applied", "已生效", "Applied"),
    ("incident.actions", "可执行操作", "Actions"),
    ("incident.no_actions", "您的角色当前无可执行操作。", "Your role has no action on this incident now."),
    ("incident.note", "说明", "Note"),
    ("incident.assignee", "指派给", "Assign to"),
    ("incident.duplicate_of", "重复事件编号", "Duplicate of (incident id)"),
    ("incident.satisfied", "居民满意", "Resident satisfied"),
    ("incident.unsatisfied", "居民不满意", "Resident not satisfied"),
    ("incident.waiting_for", "等待", "Waiting for"),
    ("incident.back", "返回队列", "Back to the queue"),
    ("incident.done", "操作已保存。", "Action saved."),
    ("incident.location", "位置", "Location"),
    ("incident.assigned", "承办人", "Assignee"),
    ("severity.normal", "一般", "Normal"),
    ("severity.urgent", "紧急", "Urgent"),
    ("error.title", "出错了", "Something went wrong"),
    (
        "error.csrf",
        "请求缺少有效的安全令牌，请刷新页面后重试。",
        "The request lacks a valid security token; reload the page and try again.",
    ),
    ("error.forbidden", "您无权查看此内容。", "You may not see this."),
];

/// Words of one page, in its language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    /// The language.
    pub lang: Lang,
}

fn pick(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

impl Tr {
    /// The words in `lang`.
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The string of a key (the key itself when it has none).
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        SECTIONS
            .iter()
            .flat_map(|words| words.iter())
            .find(|(k, _, _)| *k == key)
            .map_or(key, |(_, zh, en)| pick(self.lang, zh, en))
    }

    /// A stage's name.
    pub fn stage(&self, s: &Stage) -> &'static str {
        let (zh, en) = match s {
            Stage::Reported => ("已上报", "Reported"),
            Stage::CommitteeReview => ("社居委审核", "Committee review"),
            Stage::AtStation => ("工作站核准", "At the station"),
            Stage::InProgress => ("处理中", "In progress"),
            Stage::Resolved => ("已办结", "Resolved"),
            Stage::Closed => ("已关闭", "Closed"),
            Stage::Returned => ("退回补充", "Returned"),
            Stage::Escalated => ("已上报街道", "Escalated"),
            Stage::Rejected => ("已驳回", "Rejected"),
        };
        pick(self.lang, zh, en)
    }

    /// A stage's name from its code (history rows carry codes as text).
    pub fn stage_code(&self, code: &str) -> String {
        code.parse::<Stage>().map(|s| self.stage(&s).to_string()).unwrap_or_else(|_| code.to_string())
    }

    /// An action's word: the zh-Hans action words of PRODUCT.md §6, the action names in English.
    pub fn action(&self, a: &Action) -> &'static str {
        let (zh, en) = match a {
            Action::Report => ("上报", "Report"),
            Action::Receive => ("已送达", "Receipt"),
            Action::Dispatch => ("分流", "Dispatch"),
            Action::Settle => ("就地办结", "Settle locally"),
            Action::Return => ("退回补充", "Return for information"),
            Action::Resubmit => ("重新提交", "Resubmit"),
            Action::Verify => ("核准并指派", "Verify and assign"),
            Action::Escalate => ("上报街道", "Escalate"),
            Action::Resolve => ("办结", "Resolve"),
            Action::Evaluate => ("评价", "Evaluate"),
            Action::Reject => ("驳回", "Reject"),
            Action::Comment => ("评论", "Comment"),
        };
        pick(self.lang, zh, en)
    }

    /// An action's word from its code (a newer build's action shows as its code).
    pub fn action_code(&self, code: &str) -> String {
        code.parse::<Action>().map(|a| self.action(&a).to_string()).unwrap_or_else(|_| code.to_string())
    }

    /// A service order's stage.
    pub fn order_stage(&self, s: &OrderStage) -> &'static str {
        let (zh, en) = match s {
            OrderStage::Requested => ("已点单", "Requested"),
            OrderStage::Dispatched => ("已派单", "Dispatched"),
            OrderStage::Accepted => ("已接单", "Accepted"),
            OrderStage::Done => ("已完成", "Done"),
            OrderStage::Evaluated => ("已评单", "Evaluated"),
            OrderStage::Cancelled => ("已取消", "Cancelled"),
        };
        pick(self.lang, zh, en)
    }

    /// A service-order action's word: the zh-Hans action words (点单, 派单, 接单, 取消, 备注 …), the action
    /// names in English.
    pub fn order_action(&self, a: &OrderAction) -> &'static str {
        let (zh, en) = match a {
            OrderAction::Request => ("点单", "Request"),
            OrderAction::Dispatch => ("派单", "Dispatch"),
            OrderAction::Accept => ("接单", "Accept"),
            OrderAction::Decline => ("拒单", "Decline"),
            OrderAction::Done => ("完成", "Done"),
            OrderAction::Evaluate => ("评单", "Evaluate"),
            OrderAction::Cancel => ("取消", "Cancel"),
            OrderAction::Comment => ("备注", "Comment"),
        };
        pick(self.lang, zh, en)
    }

    /// A service-order action's word from its code (a newer build's action shows as its code).
    pub fn order_action_code(&self, code: &str) -> String {
        code.parse::<OrderAction>().map(|a| self.order_action(&a).to_string()).unwrap_or_else(|_| code.to_string())
    }

    /// One of a configured name's two languages (a catalogue's service, a supermarket item).
    pub fn name<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Zh => zh,
            Lang::En if en.is_empty() => zh,
            Lang::En => en,
        }
    }

    /// Why a superseded event no longer applies (the history shows the code only on hover).
    pub fn superseded(&self, r: &SupersededReason) -> &'static str {
        let (zh, en) = match r {
            SupersededReason::NotAllowedFromStage => ("当时所处阶段不适用", "Not allowed from the stage reached"),
            SupersededReason::RoleNotAllowed => ("该角色无权执行", "The role may not take this action"),
            SupersededReason::NotReporter => ("仅上报人可执行", "Only the reporter may take this action"),
            SupersededReason::PayloadMissing => ("缺少必要内容", "Something the action needs is missing"),
            SupersededReason::UnknownAction => ("未知操作", "Unknown action"),
            SupersededReason::UnknownRole => ("未知角色", "Unknown role"),
            SupersededReason::InvalidTime => ("时间无效", "The time does not parse"),
            SupersededReason::NotVolunteer => {
                ("仅接单志愿者可执行", "Only the volunteer it is dispatched to may take this action")
            }
            SupersededReason::NotRequester => ("仅点单人可执行", "Only the requester may take this action"),
        };
        pick(self.lang, zh, en)
    }

    /// A role's name.
    pub fn role(&self, r: &Role) -> &'static str {
        let (zh, en) = match r {
            Role::GridLeader => ("网格长", "Grid leader"),
            Role::GridWorker => ("网格员", "Grid worker"),
            Role::SocialWorker => ("社工", "Social worker"),
            Role::Committee => ("社居委", "Residents' committee"),
            Role::Station => ("社区工作站", "Work station"),
            Role::Street => ("街道", "Street office"),
            Role::Admin => ("管理员", "Administrator"),
            Role::Volunteer => ("志愿者", "Volunteer"),
            Role::BuildingLead => ("楼栋长", "Building lead"),
        };
        pick(self.lang, zh, en)
    }

    /// A role's name from its code (`server` is the relay's receipt).
    pub fn role_code(&self, code: &str) -> String {
        match code.parse::<Role>() {
            Ok(r) => self.role(&r).to_string(),
            Err(_) if code == "server" => pick(self.lang, "服务器", "Server").to_string(),
            Err(_) => code.to_string(),
        }
    }

    /// A catalogue entry's name (incident categories, visit services).
    pub fn entry<'a>(&self, catalogue: &'a [CatalogueEntry], code: &'a str) -> &'a str {
        catalogue.iter().find(|c| c.code == code).map_or(code, |c| match self.lang {
            Lang::Zh => c.name_zh.as_str(),
            Lang::En => c.name_en.as_str(),
        })
    }

    /// An error's words, by its stable code.
    pub fn error(&self, code: ErrorCode) -> &'static str {
        let (zh, en) = match code {
            ErrorCode::ActionNotAllowed => {
                ("您的角色在当前阶段不能执行此操作。", "Your role may not take this action at this stage.")
            }
            ErrorCode::NotFound => ("找不到该记录。", "Not found."),
            ErrorCode::ProjectNotDone => ("项目结项后才能评价。", "A project is rated once it is done."),
            ErrorCode::InvalidInput => ("输入有误。", "The input is not valid."),
            ErrorCode::RosterInvalid => {
                ("名册文件有误，未导入任何内容。", "The roster file has an error; nothing was imported.")
            }
            ErrorCode::ForbiddenChange | ErrorCode::ForbiddenDocument => ("无权修改。", "Not allowed."),
            ErrorCode::RateLimited => ("请求过于频繁，请稍后再试。", "Too many requests; try again shortly."),
            ErrorCode::Unauthorized => ("请先登录。", "Sign in first."),
            ErrorCode::AlreadySurveyed => {
                ("该户本年度已完成满意度测评。", "The household was already surveyed this year.")
            }
            _ => ("操作失败。", "The operation failed."),
        };
        pick(self.lang, zh, en)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key a template or a view asks for (`t("…")`) has both strings, so no page shows a raw key.
    #[test]
    fn every_key_the_pages_use_has_zh_hans_and_english() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Vec::new();
        for dir in ["templates/console", "src/console"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("the console's sources are in the crate") {
                let path = entry.expect("a directory entry").path();
                if path.is_file() {
                    sources.push((path.clone(), std::fs::read_to_string(&path).unwrap_or_default()));
                }
            }
        }
        let mut missing = Vec::new();
        let mut used = 0;
        for (path, text) in &sources {
            for part in text.split("t(\"").skip(1) {
                let Some(key) = part.split('"').next() else { continue };
                if !key.contains('.') || key.contains(' ') {
                    continue;
                }
                used += 1;
                let found = SECTIONS.iter().flat_map(|w| w.iter()).find(|(k, _, _)| *k == key);
                match found {
                    Some((_, zh, en)) if !zh.is_empty() && !en.is_empty() => {}
                    _ => missing.push(format!("{}: {key}", path.display())),
                }
            }
        }
        assert!(used > 50, "the scan found only {used} keys: the pattern no longer matches the sources");
        assert!(missing.is_empty(), "keys without both strings: {missing:#?}");
    }

    #[test]
    fn no_key_is_defined_twice() {
        let mut seen = std::collections::HashSet::new();
        for (k, _, _) in SECTIONS.iter().flat_map(|w| w.iter()) {
            assert!(seen.insert(*k), "{k} is defined twice");
        }
    }

    #[test]
    fn the_action_words_are_the_products() {
        let zh = Tr::new(Lang::Zh);
        let words: Vec<&str> = [
            Action::Dispatch,
            Action::Settle,
            Action::Return,
            Action::Verify,
            Action::Escalate,
            Action::Resolve,
            Action::Reject,
            Action::Evaluate,
            Action::Comment,
        ]
        .iter()
        .map(|a| zh.action(a))
        .collect();
        assert_eq!(words, ["分流", "就地办结", "退回补充", "核准并指派", "上报街道", "办结", "驳回", "评价", "评论"]);
    }

    #[test]
    fn the_order_words_are_the_products() {
        let (zh, en) = (Tr::new(Lang::Zh), Tr::new(Lang::En));
        let staff = [OrderAction::Dispatch, OrderAction::Cancel, OrderAction::Comment];
        assert_eq!(staff.iter().map(|a| zh.order_action(a)).collect::<Vec<_>>(), ["派单", "取消", "备注"]);
        assert_eq!(staff.iter().map(|a| en.order_action(a)).collect::<Vec<_>>(), ["Dispatch", "Cancel", "Comment"]);
        assert_eq!(
            (zh.order_stage(&OrderStage::Dispatched), en.order_stage(&OrderStage::Dispatched)),
            ("已派单", "Dispatched")
        );
        assert_eq!(zh.order_action_code("dispatch"), "派单");
        assert_eq!(zh.order_action_code("teleport"), "teleport");
    }
}
