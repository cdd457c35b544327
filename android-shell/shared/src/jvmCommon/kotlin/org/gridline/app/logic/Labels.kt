// The string resource names of the core's enums: one exhaustive `when` per enum, so a new variant in the core
// stops the build here instead of showing a raw code. The screens look the names up (`textByKey`).
package org.gridline.app.logic

import org.gridline.core.Action
import org.gridline.core.CheckInKind
import org.gridline.core.CheckInOutcome
import org.gridline.core.DueContact
import org.gridline.core.OrderAction
import org.gridline.core.OrderStage
import org.gridline.core.PointsEntryKind
import org.gridline.core.ProjectStatus
import org.gridline.core.RatingState
import org.gridline.core.RedemptionStatus
import org.gridline.core.Severity
import org.gridline.core.Stage

object Labels {
    /** `contact_<code>`: the chip of a due contact. */
    fun key(c: DueContact): String = when (c) {
        DueContact.PHONE -> "contact_phone"
        DueContact.DOOR -> "contact_door"
        DueContact.HOME -> "contact_home"
        DueContact.ROTATION -> "contact_rotation"
    }

    /** `kind_<code>`: a check-in kind. */
    fun key(k: CheckInKind): String = when (k) {
        CheckInKind.DOOR -> "kind_door"
        CheckInKind.PHONE -> "kind_phone"
        CheckInKind.OBSERVED -> "kind_observed"
        CheckInKind.ABSENT -> "kind_absent"
    }

    /** `outcome_<code>`: a check-in outcome. */
    fun key(o: CheckInOutcome): String = when (o) {
        CheckInOutcome.WELL -> "outcome_well"
        CheckInOutcome.ATTENTION -> "outcome_attention"
        CheckInOutcome.PROBLEM -> "outcome_problem"
    }

    /** `stage_<code>`: an incident stage. */
    fun key(s: Stage): String = when (s) {
        Stage.REPORTED -> "stage_reported"
        Stage.COMMITTEE_REVIEW -> "stage_committee_review"
        Stage.AT_STATION -> "stage_at_station"
        Stage.IN_PROGRESS -> "stage_in_progress"
        Stage.RESOLVED -> "stage_resolved"
        Stage.CLOSED -> "stage_closed"
        Stage.RETURNED -> "stage_returned"
        Stage.ESCALATED -> "stage_escalated"
        Stage.REJECTED -> "stage_rejected"
    }

    /** `severity_<code>`: an incident severity. */
    fun key(s: Severity): String = when (s) {
        Severity.NORMAL -> "severity_normal"
        Severity.URGENT -> "severity_urgent"
    }

    /** `action_<code>`: an incident action's button and history line. */
    fun key(a: Action): String = when (a) {
        Action.REPORT -> "action_report"
        Action.RECEIVE -> "action_receive"
        Action.DISPATCH -> "action_dispatch"
        Action.SETTLE -> "action_settle"
        Action.RETURN -> "action_return"
        Action.RESUBMIT -> "action_resubmit"
        Action.VERIFY -> "action_verify"
        Action.ESCALATE -> "action_escalate"
        Action.RESOLVE -> "action_resolve"
        Action.EVALUATE -> "action_evaluate"
        Action.REJECT -> "action_reject"
        Action.COMMENT -> "action_comment"
    }

    /** `order_stage_<code>`: a service order's stage. */
    fun key(s: OrderStage): String = when (s) {
        OrderStage.REQUESTED -> "order_stage_requested"
        OrderStage.DISPATCHED -> "order_stage_dispatched"
        OrderStage.ACCEPTED -> "order_stage_accepted"
        OrderStage.DONE -> "order_stage_done"
        OrderStage.EVALUATED -> "order_stage_evaluated"
        OrderStage.CANCELLED -> "order_stage_cancelled"
    }

    /** `order_action_<code>`: a service order action's button and history line. */
    fun key(a: OrderAction): String = when (a) {
        OrderAction.REQUEST -> "order_action_request"
        OrderAction.DISPATCH -> "order_action_dispatch"
        OrderAction.ACCEPT -> "order_action_accept"
        OrderAction.DECLINE -> "order_action_decline"
        OrderAction.DONE -> "order_action_done"
        OrderAction.EVALUATE -> "order_action_evaluate"
        OrderAction.CANCEL -> "order_action_cancel"
        OrderAction.COMMENT -> "order_action_comment"
    }

    /** `redemption_<code>`: where a love-supermarket redemption stands. */
    fun key(s: RedemptionStatus): String = when (s) {
        RedemptionStatus.PENDING -> "redemption_pending"
        RedemptionStatus.CONFIRMED -> "redemption_confirmed"
        RedemptionStatus.POINTS_INSUFFICIENT -> "redemption_points_insufficient"
        RedemptionStatus.OUT_OF_STOCK -> "redemption_out_of_stock"
        RedemptionStatus.UNKNOWN_ITEM -> "redemption_unknown_item"
    }

    /** `points_<kind>`: a row of a volunteer's points history. */
    fun key(k: PointsEntryKind): String = when (k) {
        PointsEntryKind.CREDIT -> "points_credit"
        PointsEntryKind.REDEMPTION -> "points_redemption"
    }

    /** `project_status_<code>`: where a service project is. */
    fun key(s: ProjectStatus): String = when (s) {
        ProjectStatus.PLANNED -> "project_status_planned"
        ProjectStatus.ACTIVE -> "project_status_active"
        ProjectStatus.DONE -> "project_status_done"
    }

    /** `project_rating_<code>`: what became of a household's rating of a project. */
    fun key(s: RatingState): String = when (s) {
        RatingState.STANDS -> "project_rating_stands"
        RatingState.REPLACED -> "project_rating_replaced"
        RatingState.PROJECT_NOT_DONE -> "project_rating_project_not_done"
        RatingState.INVALID -> "project_rating_invalid"
    }
}
