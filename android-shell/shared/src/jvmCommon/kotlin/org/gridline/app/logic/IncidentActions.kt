// Which incident buttons to show and what each asks for. The core decides WHICH actions the role may take
// (`IncidentDetail.allowedActions`); this only turns those actions into buttons and the inputs each needs.
package org.gridline.app.logic

import org.gridline.core.Action
import org.gridline.core.IncidentAct
import org.gridline.core.IncidentDetail
import org.gridline.core.IncidentFilter
import org.gridline.core.IncidentList
import org.gridline.core.NewIncident
import org.gridline.core.Severity
import org.gridline.core.IncidentFields
import org.gridline.ffi.GridlineStore

/** An input an action dialog shows. */
enum class ActInput { NOTE, ASSIGNEE, SATISFACTION, DUPLICATE_OF, PHOTOS }

/** One button on the incident screen: `labelKey` (`action_<code>`, see [Labels]) is its string resource. */
data class ActionButton(val action: Action, val labelKey: String, val inputs: Set<ActInput>, val primary: Boolean)

object IncidentActions {
    private fun inputs(a: Action): Set<ActInput> = when (a) {
        Action.VERIFY -> setOf(ActInput.ASSIGNEE, ActInput.NOTE)
        Action.EVALUATE -> setOf(ActInput.SATISFACTION, ActInput.NOTE)
        Action.REJECT -> setOf(ActInput.DUPLICATE_OF, ActInput.NOTE)
        Action.COMMENT, Action.RESOLVE -> setOf(ActInput.NOTE, ActInput.PHOTOS)
        else -> setOf(ActInput.NOTE)
    }

    /** The buttons for `detail`, in the core's order; the first stage-moving action is primary. */
    fun buttons(detail: IncidentDetail): List<ActionButton> {
        val actions = detail.allowedActions
        val primary = actions.firstOrNull { it != Action.COMMENT }
        return actions.map { ActionButton(it, Labels.key(it), inputs(it), it == primary) }
    }

    /** The act to send for `button` with what the user entered. */
    fun act(
        button: ActionButton,
        note: String = "",
        assignee: String? = null,
        satisfied: Boolean? = null,
        duplicateOf: String? = null,
        photos: List<String> = emptyList(),
    ) = IncidentAct(button.action, note.trim(), assignee?.trim(), duplicateOf, satisfied, photos)
}

/** The incident screens. Every call does I/O: call from a background dispatcher. */
class IncidentPresenter(private val store: GridlineStore) {
    /** Incidents in scope; `waitingForMe` shows only those waiting on this device's role. */
    fun list(waitingForMe: Boolean = false): ScreenState<IncidentList> =
        load { store.incidentList(IncidentFilter(null, null, null, false, waitingForMe)) }

    /** One incident with its history and buttons. */
    fun show(incidentId: String): ScreenState<Pair<IncidentDetail, List<ActionButton>>> =
        load { store.incidentDetail(incidentId).let { it to IncidentActions.buttons(it) } }

    /** Takes an action; the screen shows the incident after it. */
    fun act(incidentId: String, act: IncidentAct): ScreenState<Pair<IncidentDetail, List<ActionButton>>> =
        load { store.incidentAct(incidentId, act).let { it to IncidentActions.buttons(it) } }

    /** Reports an incident, prefilled from a check-in when `checkInId` is given (a problem found). */
    fun report(
        category: String,
        severity: Severity,
        title: String,
        description: String,
        householdCode: String?,
        checkInId: String? = null,
        photos: List<String> = emptyList(),
        location: org.gridline.core.Location? = null,
    ): ScreenState<IncidentFields> = load {
        store.reportIncident(
            NewIncident(householdCode, null, category, severity, title.trim(), description.trim(), photos, location, null, checkInId),
        )
    }
}
