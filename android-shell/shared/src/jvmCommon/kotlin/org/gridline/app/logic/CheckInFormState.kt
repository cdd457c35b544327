// The check-in form: what the user has picked so far and whether it can be saved. Validation of values
// (note length, photo count, coordinates) stays in the core; the form only knows what is still missing.
package org.gridline.app.logic

import org.gridline.core.CheckInKind
import org.gridline.core.CheckInOutcome
import org.gridline.core.Location
import org.gridline.core.NewCheckIn

/** The state of the check-in form for one household. Immutable: every edit returns a new state. */
data class CheckInFormState(
    val householdCode: String,
    val kind: CheckInKind? = null,
    val outcome: CheckInOutcome? = null,
    val note: String = "",
    /** SHA-256 hashes returned by `GridlineStore.addPhoto` as each photo is taken. */
    val photos: List<String> = emptyList(),
    val location: Location? = null,
) {
    /** Kind and outcome are chosen. */
    val canSubmit: Boolean get() = kind != null && outcome != null

    /** A problem found leads on to incident capture, prefilled from the household (PRODUCT.md §2.2). */
    val leadsToIncident: Boolean get() = outcome == CheckInOutcome.PROBLEM

    fun withKind(k: CheckInKind) = copy(kind = k)
    fun withOutcome(o: CheckInOutcome) = copy(outcome = o)
    fun withNote(n: String) = copy(note = n)
    fun withPhoto(hash: String) = if (hash in photos) this else copy(photos = photos + hash)
    fun withoutPhoto(hash: String) = copy(photos = photos - hash)
    fun withLocation(l: Location?) = copy(location = l)

    /** The record to save, or null while [canSubmit] is false. `at` null: the core stamps the time. */
    fun toNewCheckIn(): NewCheckIn? {
        val k = kind ?: return null
        val o = outcome ?: return null
        return NewCheckIn(householdCode, k, o, note.trim(), photos, location, null)
    }
}
