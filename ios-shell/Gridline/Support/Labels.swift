// Localizable.strings keys of the core's enums: one exhaustive switch per enum, so a new variant in the core
// stops the build here instead of showing a raw code. Views look the keys up with `t(_:)`.
import Gridline

extension DueContact {
    /// `contact_<code>`.
    var labelKey: String {
        switch self {
        case .phone: return "contact_phone"
        case .door: return "contact_door"
        case .home: return "contact_home"
        case .rotation: return "contact_rotation"
        }
    }
}

extension CheckInKind {
    /// `kind_<code>`.
    var labelKey: String {
        switch self {
        case .door: return "kind_door"
        case .phone: return "kind_phone"
        case .observed: return "kind_observed"
        case .absent: return "kind_absent"
        }
    }
}

extension CheckInOutcome {
    /// `outcome_<code>`.
    var labelKey: String {
        switch self {
        case .well: return "outcome_well"
        case .attention: return "outcome_attention"
        case .problem: return "outcome_problem"
        }
    }
}

extension Stage {
    /// `stage_<code>`.
    var labelKey: String {
        switch self {
        case .reported: return "stage_reported"
        case .committeeReview: return "stage_committee_review"
        case .atStation: return "stage_at_station"
        case .inProgress: return "stage_in_progress"
        case .resolved: return "stage_resolved"
        case .closed: return "stage_closed"
        case .returned: return "stage_returned"
        case .escalated: return "stage_escalated"
        case .rejected: return "stage_rejected"
        }
    }
}

extension Severity {
    /// `severity_<code>`.
    var labelKey: String {
        switch self {
        case .normal: return "severity_normal"
        case .urgent: return "severity_urgent"
        }
    }
}

extension Action {
    /// `action_<code>`: a button and a history line.
    var labelKey: String {
        switch self {
        case .report: return "action_report"
        case .receive: return "action_receive"
        case .dispatch: return "action_dispatch"
        case .settle: return "action_settle"
        case .return: return "action_return"
        case .resubmit: return "action_resubmit"
        case .verify: return "action_verify"
        case .escalate: return "action_escalate"
        case .resolve: return "action_resolve"
        case .evaluate: return "action_evaluate"
        case .reject: return "action_reject"
        case .comment: return "action_comment"
        }
    }
}

extension OrderStage {
    /// `order_stage_<code>`.
    var labelKey: String {
        switch self {
        case .requested: return "order_stage_requested"
        case .dispatched: return "order_stage_dispatched"
        case .accepted: return "order_stage_accepted"
        case .done: return "order_stage_done"
        case .evaluated: return "order_stage_evaluated"
        case .cancelled: return "order_stage_cancelled"
        }
    }
}

extension OrderAction {
    /// `order_action_<code>`: a button and a history line.
    var labelKey: String {
        switch self {
        case .request: return "order_action_request"
        case .dispatch: return "order_action_dispatch"
        case .accept: return "order_action_accept"
        case .decline: return "order_action_decline"
        case .done: return "order_action_done"
        case .evaluate: return "order_action_evaluate"
        case .cancel: return "order_action_cancel"
        case .comment: return "order_action_comment"
        }
    }
}

extension RedemptionStatus {
    /// `redemption_<code>`: where a love-supermarket redemption stands.
    var labelKey: String {
        switch self {
        case .pending: return "redemption_pending"
        case .confirmed: return "redemption_confirmed"
        case .pointsInsufficient: return "redemption_points_insufficient"
        case .outOfStock: return "redemption_out_of_stock"
        case .unknownItem: return "redemption_unknown_item"
        }
    }
}

extension PointsEntryKind {
    /// `points_<kind>`: a row of a volunteer's points history.
    var labelKey: String {
        switch self {
        case .credit: return "points_credit"
        case .redemption: return "points_redemption"
        }
    }
}

extension ProjectStatus {
    /// `project_status_<code>`: where a service project is.
    var labelKey: String {
        switch self {
        case .planned: return "project_status_planned"
        case .active: return "project_status_active"
        case .done: return "project_status_done"
        }
    }
}

extension RatingState {
    /// `project_rating_<code>`: what became of a household's rating.
    var labelKey: String {
        switch self {
        case .stands: return "project_rating_stands"
        case .replaced: return "project_rating_replaced"
        case .projectNotDone: return "project_rating_project_not_done"
        case .invalid: return "project_rating_invalid"
        }
    }
}
