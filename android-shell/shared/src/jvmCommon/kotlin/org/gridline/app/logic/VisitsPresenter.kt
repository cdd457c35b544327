// Visits due and the visit record form for social workers; what is due and the validation stay in the core.
package org.gridline.app.logic

import org.gridline.core.NewVisit
import org.gridline.core.Visit
import org.gridline.core.VisitKind
import org.gridline.core.VisitsDue
import org.gridline.ffi.GridlineStore

/** The visit form. Immutable: every edit returns a new state. */
data class VisitFormState(
    val householdCode: String,
    val residents: List<String>,
    val kind: VisitKind = VisitKind.HOME,
    val services: Set<String> = emptySet(),
    val needs: String = "",
    /** `YYYY-MM-DD` or null. */
    val followUp: String? = null,
    /** 1–5 or null when the resident was not asked. */
    val satisfaction: UByte? = null,
) {
    fun toggleService(code: String) = copy(services = if (code in services) services - code else services + code)

    fun toNewVisit() = NewVisit(
        householdCode, residents, kind, null, null, services.sorted(), needs.trim(), emptyList(), followUp, satisfaction, emptyList(),
    )
}

/** The visits screens. Every call does I/O: call from a background dispatcher. */
class VisitsPresenter(private val store: GridlineStore) {
    fun due(date: String? = null): ScreenState<VisitsDue> = load { store.visitsDue(date) }

    fun record(form: VisitFormState): ScreenState<Visit> = load { store.recordVisit(form.toNewVisit()) }
}
