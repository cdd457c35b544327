//! The community's configuration: time zone, special-care categories with their care plans, catalogues and
//! deadline policy. It lives in the community document, not in code; these are only the defaults.

use serde::{Deserialize, Serialize};

use super::ContactKind;

/// The time zone a community's dates are in when none is configured (or the configured name is unknown).
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// [`DEFAULT_TIME_ZONE`] as a zone (a test checks the two name the same zone).
const DEFAULT_TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// One contact of a care plan: which contact, every how many days (rolling).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CarePlanContact {
    /// Which contact.
    pub contact: ContactKind,
    /// Rolling period in days: daily 1, weekly 7, monthly 30.
    pub period_days: u32,
}

/// A special-care category (特殊人群) and its default care plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SpecialCareCategory {
    /// Tag code used in the roster, e.g. `elderly_alone`.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The care plan residents with this tag are kept on.
    pub plan: Vec<CarePlanContact>,
}

/// Incident deadlines per stage and severity, in minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DeadlinePolicy {
    /// Urgent incidents: the station acknowledges within this many minutes.
    pub urgent_ack_minutes: u32,
    /// Normal incidents: committee review within.
    pub committee_review_minutes: u32,
    /// Normal incidents: station verification within.
    pub station_verify_minutes: u32,
    /// Normal incidents: resolution within.
    pub resolve_minutes: u32,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        DeadlinePolicy {
            urgent_ack_minutes: 30,
            committee_review_minutes: 24 * 60,
            station_verify_minutes: 24 * 60,
            resolve_minutes: 3 * 24 * 60,
        }
    }
}

/// A code with its names, for configurable catalogues (incident categories, visit services).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CatalogueEntry {
    /// Stable code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// A service volunteers offer (服务目录): what a resident may order, and the points and hours an evaluated
/// order of it credits its volunteer with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ServiceOffer {
    /// Stable code, e.g. `meal_delivery`.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Points (积分) an evaluated order credits.
    pub points: u32,
    /// Service time an evaluated order counts for on the honour roll (荣誉墙), in minutes.
    pub minutes: u32,
}

/// An item of the love supermarket (爱心超市): its point price and stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ShopItem {
    /// Stable code, e.g. `rice_5kg`.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Points one unit costs.
    pub price_points: u32,
    /// Units the supermarket has taken in so far (raise it when restocking). What is left is this less the
    /// units of confirmed redemptions (`points::stock_left`), so a restock and a redemption made at the same
    /// time both count.
    pub stock: u32,
}

/// Everything the community document configures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CommunitySettings {
    /// Community id (UUID v7).
    pub community_id: String,
    /// Display name.
    pub name: String,
    /// IANA time zone the community's dates are in (default [`DEFAULT_TIME_ZONE`]).
    pub timezone: String,
    /// Special-care categories and their care plans.
    pub categories: Vec<SpecialCareCategory>,
    /// Incident categories.
    pub incident_categories: Vec<CatalogueEntry>,
    /// Home-visit services catalogue.
    pub visit_services: Vec<CatalogueEntry>,
    /// Incident deadlines.
    pub deadlines: DeadlinePolicy,
    /// Days without a check-in or visit after which a household is due for rotation.
    pub rotation_days: u32,
    /// The services volunteers offer, with their points.
    pub service_catalogue: Vec<ServiceOffer>,
    /// The love supermarket's items.
    pub shop_items: Vec<ShopItem>,
    /// Days a service order is due in after it is requested, when neither the request nor the dispatch names
    /// a due date.
    pub order_due_days: u32,
    /// The items of the residents' yearly satisfaction survey of the community (双评议: 居民满意度测评), each
    /// answered 1–5; a survey answers every item, in this order.
    pub survey_items: Vec<CatalogueEntry>,
    /// The aspects the community rates each department on, yearly (双评议: 部门评议), each scored 1–5.
    pub department_aspects: Vec<CatalogueEntry>,
}

fn offer(code: &str, name_zh: &str, name_en: &str, points: u32, minutes: u32) -> ServiceOffer {
    ServiceOffer { code: code.into(), name_zh: name_zh.into(), name_en: name_en.into(), points, minutes }
}

fn item(code: &str, name_zh: &str, name_en: &str, price_points: u32, stock: u32) -> ShopItem {
    ShopItem { code: code.into(), name_zh: name_zh.into(), name_en: name_en.into(), price_points, stock }
}

fn plan(contacts: &[(ContactKind, u32)]) -> Vec<CarePlanContact> {
    contacts.iter().map(|&(contact, period_days)| CarePlanContact { contact, period_days }).collect()
}

fn entry(code: &str, name_zh: &str, name_en: &str) -> CatalogueEntry {
    CatalogueEntry { code: code.into(), name_zh: name_zh.into(), name_en: name_en.into() }
}

impl CommunitySettings {
    /// The defaults of PRODUCT.md §1 and §4 for a new community.
    pub fn defaults(community_id: &str, name: &str, timezone: &str) -> CommunitySettings {
        use ContactKind::{Door, Home, Phone};
        let intensive = plan(&[(Phone, 1), (Door, 7), (Home, 30)]);
        let weekly = plan(&[(Door, 7), (Home, 30)]);
        let monthly = plan(&[(Home, 30)]);
        let cat = |code: &str, zh: &str, en: &str, plan: &Vec<CarePlanContact>| SpecialCareCategory {
            code: code.into(),
            name_zh: zh.into(),
            name_en: en.into(),
            plan: plan.clone(),
        };
        CommunitySettings {
            community_id: community_id.into(),
            name: name.into(),
            timezone: timezone.into(),
            categories: vec![
                cat("elderly_alone", "孤寡/独居老人", "Elderly living alone", &intensive),
                cat("seriously_ill", "重病", "Seriously ill", &intensive),
                cat("bereaved_parents", "失独家庭", "Bereaved parents", &weekly),
                cat("disabled", "残疾人", "Disabled", &weekly),
                cat("empty_nest", "空巢老人", "Empty-nest elderly", &weekly),
                cat("mental_health", "严重精神障碍患者", "Severe mental disorder", &weekly),
                cat("left_behind_child", "留守儿童", "Left-behind child", &weekly),
                cat("low_income", "低保户", "Minimum-living-allowance household", &monthly),
                cat("community_correction", "社区矫正人员", "Under community correction", &monthly),
            ],
            incident_categories: vec![
                entry("safety_hazard", "安全隐患", "Safety hazard"),
                entry("neighbour_dispute", "邻里纠纷", "Neighbour dispute"),
                entry("environment", "环境卫生", "Environment and sanitation"),
                entry("facility_repair", "设施报修", "Facility repair"),
                entry("vulnerable_resident", "特殊人群求助", "Vulnerable resident in difficulty"),
                entry("parking_traffic", "停车交通", "Parking and traffic"),
                entry("public_order", "治安秩序", "Public order"),
                entry("other", "其他", "Other"),
            ],
            visit_services: vec![
                entry("life_care", "生活照料", "Life care"),
                entry("health_monitoring", "健康监护", "Health monitoring"),
                entry("rehabilitation", "康复训练", "Rehabilitation"),
                entry("meal_delivery", "上门送餐", "Meal delivery"),
                entry("errands", "代购配送", "Shopping and errands"),
                entry("cleaning", "家政保洁", "Cleaning"),
                entry("companionship", "精神慰藉", "Companionship and emotional support"),
                entry("policy_explanation", "政策宣讲", "Policy explanation"),
                entry("referral", "转介服务", "Referral"),
            ],
            deadlines: DeadlinePolicy::default(),
            rotation_days: 30,
            service_catalogue: vec![
                offer("meal_delivery", "上门送餐", "Meal delivery", 10, 60),
                offer("errands", "代购配送", "Shopping and errands", 8, 60),
                offer("companionship", "陪伴聊天", "Companionship", 6, 60),
                offer("cleaning", "家政保洁", "Cleaning", 12, 120),
                offer("repair", "家电维修", "Small repairs", 12, 90),
                offer("escort", "陪同就医", "Escort to the doctor", 15, 180),
                offer("haircut", "义务理发", "Haircut", 6, 30),
            ],
            shop_items: vec![
                item("rice_5kg", "大米（5公斤）", "Rice (5 kg)", 100, 20),
                item("cooking_oil", "食用油（1.8升）", "Cooking oil (1.8 l)", 80, 20),
                item("eggs", "鸡蛋（一盒）", "Eggs (a box)", 30, 40),
                item("detergent", "洗衣液", "Laundry detergent", 40, 30),
                item("towel", "毛巾", "Towel", 20, 50),
            ],
            order_due_days: 3,
            survey_items: vec![
                entry("environment", "环境卫生", "Environment and sanitation"),
                entry("public_order", "治安秩序", "Public safety and order"),
                entry("efficiency", "办事效率", "Efficiency of services"),
                entry("attitude", "服务态度", "Staff attitude"),
                entry("elderly_care", "为老服务", "Care for the elderly"),
                entry("facilities", "公共设施", "Public facilities"),
                entry("activities", "文体活动", "Cultural and sports activities"),
                entry("mediation", "矛盾调解", "Dispute mediation"),
                entry("openness", "居务公开", "Openness of community affairs"),
                entry("overall", "总体满意度", "Overall satisfaction"),
            ],
            department_aspects: vec![
                entry("task_fairness", "派单合理", "Tasks assigned reasonably"),
                entry("burden_relief", "减负落实", "Burden on the community reduced"),
                entry("support", "工作支持", "Support for the community's work"),
                entry("responsiveness", "响应及时", "Responsiveness"),
                entry("problem_solving", "问题解决", "Problems solved"),
                entry("coordination", "沟通协调", "Communication and coordination"),
                entry("guidance", "业务指导", "Guidance"),
                entry("resources", "资源下沉", "Resources brought to the community"),
                entry("conduct", "工作作风", "Conduct"),
                entry("overall", "总体评价", "Overall"),
            ],
        }
    }

    /// The category with this tag code, if configured.
    pub fn category(&self, code: &str) -> Option<&SpecialCareCategory> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// The service with this code, if offered.
    pub fn service(&self, code: &str) -> Option<&ServiceOffer> {
        self.service_catalogue.iter().find(|s| s.code == code)
    }

    /// The love-supermarket item with this code, if listed.
    pub fn shop_item(&self, code: &str) -> Option<&ShopItem> {
        self.shop_items.iter().find(|i| i.code == code)
    }

    /// The parsed time zone (falls back to [`DEFAULT_TIME_ZONE`] if the configured name is unknown).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(DEFAULT_TZ)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_time_zone_is_one_zone_by_name_and_by_value() {
        assert_eq!(DEFAULT_TZ.name(), DEFAULT_TIME_ZONE);
        let unknown = CommunitySettings::defaults("c", "", "Mars/Olympus");
        assert_eq!(unknown.tz(), DEFAULT_TZ);
    }
}
