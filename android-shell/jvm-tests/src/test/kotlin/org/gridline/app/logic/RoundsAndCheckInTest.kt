// The rounds → household → check-in flow through the presenters and the real library.
package org.gridline.app.logic

import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.gridline.core.CheckInKind
import org.gridline.core.CheckInOutcome
import org.gridline.core.Location
import org.gridline.testkit.Fixtures
import org.junit.jupiter.api.Test

class RoundsAndCheckInTest {
    @Test
    fun `rounds rows keep the core's order and mark where rotation starts`() {
        val state = RoundsPresenter(Fixtures.store()).load()
        val screen = assertIs<ScreenState.Loaded<RoundsScreen>>(state).content
        assertEquals(listOf("H-201", "H-502", "H-101"), screen.rows.map { it.householdCode })
        assertEquals(2, screen.rotationStartsAt)
        assertTrue(screen.rows[0].chips.any { it.contactKey == "contact_phone" && it.tagKey == "tag_elderly_alone" })
        assertTrue(screen.rows[2].rotationOnly)
        assertNull(screen.rows[2].lastContact)
    }

    @Test
    fun `a door check-in with a photo is saved and leaves the rounds`() {
        val store = Fixtures.store()
        val household = HouseholdPresenter(store, "H-101")
        var form = household.newForm()
        assertFalse(form.canSubmit)
        assertEquals(CheckInResult.Incomplete, household.submit(form))
        val (withPhoto, error) = household.addPhoto(form, Fixtures.PNG)
        assertNull(error)
        form = withPhoto.withKind(CheckInKind.DOOR).withOutcome(CheckInOutcome.WELL).withNote("  一切正常 ")
            .withLocation(Location(31.23, 121.47, 5.0))
        assertTrue(form.canSubmit)
        val saved = assertIs<CheckInResult.Saved>(household.submit(form))
        assertFalse(saved.startIncident)
        val detail = assertIs<ScreenState.Loaded<org.gridline.core.HouseholdDetail>>(household.load()).content
        assertEquals(saved.checkInId, detail.checkIns.single().checkInId)
        assertEquals("一切正常", detail.checkIns.single().note)
        assertEquals(1, detail.checkIns.single().photos.size)
        val rounds = assertIs<ScreenState.Loaded<RoundsScreen>>(RoundsPresenter(store).load()).content
        assertFalse(rounds.rows.any { it.householdCode == "H-101" })
        assertNull(rounds.rotationStartsAt)
    }

    @Test
    fun `a problem found leads on to incident capture`() {
        val household = HouseholdPresenter(Fixtures.store(), "H-502")
        val form = household.newForm().withKind(CheckInKind.PHONE).withOutcome(CheckInOutcome.PROBLEM)
        assertTrue(form.leadsToIncident)
        assertTrue(assertIs<CheckInResult.Saved>(household.submit(form)).startIncident)
    }

    @Test
    fun `photos are deduplicated and removable in the form`() {
        val form = CheckInFormState("H-1").withPhoto("a").withPhoto("a").withPhoto("b").withoutPhoto("a")
        assertEquals(listOf("b"), form.photos)
    }
}
