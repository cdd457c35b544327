// Household detail and its check-in: loads the detail, saves the form, says where the flow goes next.
package org.gridline.app.logic

import org.gridline.core.HouseholdDetail
import org.gridline.ffi.GridlineException
import org.gridline.ffi.GridlineStore

/** What happened when the user saved a check-in. */
sealed interface CheckInResult {
    /** Saved durably. When [startIncident] is true the shell opens incident capture for the household. */
    data class Saved(val checkInId: String, val startIncident: Boolean) : CheckInResult
    /** The form is not complete yet (kind or outcome missing). */
    data object Incomplete : CheckInResult
    /** The core refused it or the store failed. */
    data class Failed(val error: ScreenError) : CheckInResult
}

/** One household's screen. Every call does I/O: call from a background dispatcher. */
class HouseholdPresenter(private val store: GridlineStore, val householdCode: String) {
    /** Residents, recent check-ins and what is due. */
    fun load(): ScreenState<HouseholdDetail> = load { store.householdDetail(householdCode) }

    /** A new, empty check-in form for this household. */
    fun newForm() = CheckInFormState(householdCode)

    /** Stores a photo just taken and adds it to the form. */
    fun addPhoto(form: CheckInFormState, jpeg: ByteArray): Pair<CheckInFormState, ScreenError?> =
        try {
            form.withPhoto(store.addPhoto(jpeg)) to null
        } catch (e: GridlineException) {
            form to ErrorMessages.of(e)
        }

    /** Saves the form. */
    fun submit(form: CheckInFormState): CheckInResult {
        val input = form.toNewCheckIn() ?: return CheckInResult.Incomplete
        return try {
            CheckInResult.Saved(store.checkIn(input).checkInId, form.leadsToIncident)
        } catch (e: GridlineException) {
            CheckInResult.Failed(ErrorMessages.of(e))
        }
    }
}
