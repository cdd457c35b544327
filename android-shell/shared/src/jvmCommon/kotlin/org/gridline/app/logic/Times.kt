// Times as a screen shows them: the community's wall clock, to the minute. The core stamps RFC 3339 times in
// whatever offset the writing device or the server had; shown raw, a server's UTC stamp read as earlier than
// the phone's report it followed (seen in the desktop screenshots).
package org.gridline.app.logic

import java.time.OffsetDateTime
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.time.format.DateTimeParseException

private val MINUTES: DateTimeFormatter = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")

/** `rfc3339` in the time zone `zone` as `YYYY-MM-DD HH:MM`; the text unchanged when either does not parse. */
fun shownTime(rfc3339: String, zone: String): String =
    try {
        OffsetDateTime.parse(rfc3339).atZoneSameInstant(ZoneId.of(zone)).format(MINUTES)
    } catch (e: DateTimeParseException) {
        rfc3339
    } catch (e: java.time.DateTimeException) {
        rfc3339
    }
