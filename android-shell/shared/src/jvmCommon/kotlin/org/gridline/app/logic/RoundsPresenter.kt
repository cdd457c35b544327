// Today's rounds as rows for the list screen: the core decides what is due and the order; this only shapes it.
package org.gridline.app.logic

import org.gridline.core.Rounds
import org.gridline.core.RoundsItem
import org.gridline.ffi.GridlineStore

/** One due reason as a chip: `contact_<contact>` and `tag_<tag>` are string resource names. */
data class ReasonChip(val contactKey: String, val tagKey: String?, val overdueDays: UInt)

/** One household row on the rounds. */
data class RoundsRow(
    val householdCode: String,
    val building: String,
    val unit: String,
    val floor: Int,
    val room: String,
    val chips: List<ReasonChip>,
    val overdueDays: UInt,
    /** Last day anybody saw the household (`YYYY-MM-DD`), or null: never. */
    val lastContact: String?,
    /** True when only monthly rotation brings the household onto today's rounds (the core's `rotationOnly`). */
    val rotationOnly: Boolean,
)

/**
 * The rounds screen: the day, the rows in the core's walking order, where the rotation section starts, and on a
 * building lead's device the buildings its rounds cover (empty for every other role).
 */
data class RoundsScreen(val date: String, val rows: List<RoundsRow>, val rotationStartsAt: Int?, val buildings: List<String> = emptyList()) {
    /** Households due today. */
    val total: Int get() = rows.size
    /** Households with something overdue. */
    val overdue: Int get() = rows.count { it.overdueDays > 0u }
}

/** Loads and shapes the rounds. Every call does I/O: call from a background dispatcher. */
class RoundsPresenter(private val store: GridlineStore) {
    /** The rounds of `date` (`YYYY-MM-DD`, null: today). */
    fun load(date: String? = null): ScreenState<RoundsScreen> = load { shape(store.rounds(date), store.device().buildings) }

    companion object {
        /** Shapes rounds from the core into rows (pure: tested without a store). */
        fun shape(rounds: Rounds, buildings: List<String> = emptyList()): RoundsScreen {
            val rows = rounds.items.map(::row)
            val start = rows.indexOfFirst { it.rotationOnly }.takeIf { it >= 0 }
            return RoundsScreen(rounds.date, rows, start, buildings)
        }

        private fun row(item: RoundsItem) = RoundsRow(
            householdCode = item.householdCode,
            building = item.building,
            unit = item.unit,
            floor = item.floor,
            room = item.room,
            chips = item.reasons.map { ReasonChip(Labels.key(it.contact), it.tag?.let { t -> "tag_$t" }, it.overdueDays) },
            overdueDays = item.overdueDays,
            lastContact = item.lastContact,
            rotationOnly = item.rotationOnly,
        )
    }
}
