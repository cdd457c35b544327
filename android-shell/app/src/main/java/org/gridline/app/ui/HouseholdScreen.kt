// Household detail, the check-in form (camera photo, location), and the way to order a service for it.
package org.gridline.app.ui

import android.annotation.SuppressLint
import android.net.Uri
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.core.content.FileProvider
import com.google.android.gms.location.LocationServices
import com.google.android.gms.location.Priority
import org.gridline.app.R
import org.gridline.app.logic.Labels
import org.gridline.app.logic.CheckInResult
import org.gridline.core.CheckInKind
import org.gridline.core.CheckInOutcome
import org.gridline.core.Location

@Composable
fun HouseholdScreen(vm: HouseholdViewModel, onStartIncident: (String) -> Unit, onOrderService: (String) -> Unit) {
    val state by vm.state.collectAsState()
    val form by vm.form.collectAsState()
    val result by vm.result.collectAsState()
    StateView(state, vm::refresh) { d ->
        Column(Modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
            Text(d.householdCode, style = MaterialTheme.typography.titleLarge)
            Text(stringResource(R.string.address_format, d.building, d.unit, d.floor, d.room))
            Text(stringResource(R.string.household_residents), style = MaterialTheme.typography.titleMedium)
            d.residents.forEach { r ->
                val tags = r.tags.joinToString(" · ") { textByKey("tag_$it") }
                Text("${r.name} ${r.birthYear} $tags" + if (r.movedOut) " (${stringResource(R.string.moved_out)})" else "")
            }
            Text(stringResource(R.string.household_due), style = MaterialTheme.typography.titleMedium)
            d.due.forEach { Text("${textByKey(Labels.key(it.contact))} ${it.dueDate}") }
            OutlinedButton(onClick = { onOrderService(d.householdCode) }) { Text(stringResource(R.string.order_request)) }
            CheckInForm(vm)
            when (val r = result) {
                is CheckInResult.Saved -> {
                    Text(stringResource(R.string.saved))
                    if (r.startIncident) Button(onClick = { onStartIncident(d.householdCode) }) {
                        Text(stringResource(R.string.incident_report))
                    }
                }
                is CheckInResult.Failed -> ErrorText(r.error)
                else -> {}
            }
            Text(stringResource(R.string.household_checkins), style = MaterialTheme.typography.titleMedium)
            d.checkIns.forEach { Text("${it.at.take(16)} ${textByKey(Labels.key(it.kind))} ${textByKey(Labels.key(it.outcome))} ${it.note}") }
        }
    }
}

@SuppressLint("MissingPermission") // requested by the launcher below before the fix is read
@Composable
private fun CheckInForm(vm: HouseholdViewModel) {
    val form by vm.form.collectAsState()
    val context = LocalContext.current
    val photoUri = remember {
        val file = context.cacheDir.resolve("camera").apply { mkdirs() }.resolve("checkin.jpg")
        FileProvider.getUriForFile(context, context.packageName + ".photos", file)
    }
    val camera = rememberLauncherForActivityResult(ActivityResultContracts.TakePicture()) { ok ->
        if (ok) readAndDelete(context, photoUri)?.let(vm::addPhoto)
    }
    val locationPermission = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) LocationServices.getFusedLocationProviderClient(context)
            .getCurrentLocation(Priority.PRIORITY_HIGH_ACCURACY, null)
            .addOnSuccessListener { fix ->
                fix?.let { vm.edit { f -> f.withLocation(Location(it.latitude, it.longitude, it.accuracy.toDouble())) } }
            }
    }
    Text(stringResource(R.string.checkin_title), style = MaterialTheme.typography.titleMedium)
    Row {
        CheckInKind.entries.forEach { k ->
            FilterChip(form.kind == k, { vm.edit { it.withKind(k) } }, { Text(textByKey(Labels.key(k))) })
        }
    }
    Row {
        CheckInOutcome.entries.forEach { o ->
            FilterChip(form.outcome == o, { vm.edit { it.withOutcome(o) } }, { Text(textByKey(Labels.key(o))) })
        }
    }
    OutlinedTextField(form.note, { n -> vm.edit { it.withNote(n) } }, label = { Text(stringResource(R.string.checkin_note)) })
    Row {
        Button(onClick = { camera.launch(photoUri) }) { Text(stringResource(R.string.take_photo) + " (${form.photos.size})") }
        Button(onClick = { locationPermission.launch(android.Manifest.permission.ACCESS_FINE_LOCATION) }) {
            Text(stringResource(R.string.add_location) + if (form.location != null) " ✓" else "")
        }
    }
    Button(onClick = { vm.submit() }, enabled = form.canSubmit) { Text(stringResource(R.string.save)) }
}

/** Reads the camera's file and deletes it: the photo's only copy then lives in the encrypted store. */
private fun readAndDelete(context: android.content.Context, uri: Uri): ByteArray? =
    context.contentResolver.openInputStream(uri)?.use { it.readBytes() }
        .also { context.contentResolver.delete(uri, null, null) }
