// The residents' yearly survey of the community (双评议, 居民满意度测评) for one household: one answer 1–5 per item
// of the community's configuration, in its order. Whether the household was already surveyed this year and
// whether the answers are acceptable is the core's to say; this layer holds the form and shows the survey that
// stands.
package org.gridline.app.logic

import java.time.LocalDate
import java.time.ZoneId
import org.gridline.core.NewSurvey
import org.gridline.core.Survey
import org.gridline.ffi.GridlineStore

/** One survey item as the form shows it: its code and its name in the screen's language. */
data class SurveyItem(val code: String, val name: String)

/**
 * The survey form of one household. Immutable: every edit returns a new state. [answers] has one entry per
 * item, null while unanswered.
 */
data class SurveyForm(
    val householdCode: String,
    val items: List<SurveyItem>,
    val answers: List<UByte?> = List(items.size) { null },
    /** The survey that stands for the household this year on this device's knowledge, if any. */
    val existing: Survey? = null,
) {
    /** Items answered so far. */
    val answered: Int get() = answers.count { it != null }

    /** Every item has an answer (the core checks each is 1–5 and that the count matches the configuration). */
    val canSubmit: Boolean get() = items.isNotEmpty() && answered == items.size

    /** Answers item `index` with `score` 1–5; any other score clears it (the screen only offers 1–5). */
    fun withAnswer(index: Int, score: Int): SurveyForm {
        if (index !in answers.indices) return this
        return copy(answers = answers.toMutableList().also { it[index] = score.takeIf { s -> s in 1..5 }?.toUByte() })
    }

    /** The survey to record, or null while [canSubmit] is false. */
    fun toNewSurvey(): NewSurvey? {
        if (!canSubmit) return null
        return NewSurvey(householdCode = householdCode, answers = answers.map { (it ?: return null).toByte() }.toByteArray(), visitId = null)
    }
}

/** The survey screen. Every call does I/O: call from a background dispatcher. */
class SurveyPresenter(private val store: GridlineStore, private val chinese: Boolean = true) {
    /** A new form for `householdCode`: the configuration's items, and the survey already standing this year. */
    fun form(householdCode: String): ScreenState<SurveyForm> = load {
        val settings = store.settings()
        val items = settings.surveyItems.map { SurveyItem(it.code, if (chinese) it.nameZh else it.nameEn) }
        // The community's calendar year, which names the survey document the core writes to.
        val year = LocalDate.now(ZoneId.of(settings.timezone)).year.toUInt()
        SurveyForm(householdCode, items, existing = store.householdSurvey(householdCode, year))
    }

    /** Records the survey; the core refuses a second one this year with `already_surveyed`. Null while incomplete. */
    fun record(form: SurveyForm): ScreenState<Survey>? {
        val survey = form.toNewSurvey() ?: return null
        return load { store.surveyRecord(survey) }
    }
}
