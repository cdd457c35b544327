// The Android side of the shared screens' Platform: the camera (a FileProvider file the photo is read from and
// deleted), the fused location provider behind the permission prompt, and view-models that keep screen models
// across configuration changes.
package org.gridline.app.platform

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.net.Uri
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.ui.platform.LocalContext
import androidx.core.content.FileProvider
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import androidx.lifecycle.viewmodel.compose.viewModel
import com.google.android.gms.location.LocationServices
import com.google.android.gms.location.Priority
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import org.gridline.app.ui.Platform
import org.gridline.core.Location

/** Holds one shared screen model for as long as its view-model lives; its scope is the view-model's. */
private class ModelHolder(create: (CoroutineScope) -> Any) : ViewModel() {
    val model: Any = create(viewModelScope)
}

object AndroidPlatform : Platform {
    override val io: CoroutineDispatcher = Dispatchers.IO

    @Composable
    override fun rememberCamera(onPhoto: (ByteArray) -> Unit): () -> Unit {
        val context = LocalContext.current
        val uri = remember {
            val file = context.cacheDir.resolve("camera").apply { mkdirs() }.resolve("photo.jpg")
            FileProvider.getUriForFile(context, context.packageName + ".photos", file)
        }
        val camera = rememberLauncherForActivityResult(ActivityResultContracts.TakePicture()) { ok ->
            if (ok) readAndDelete(context, uri)?.let(onPhoto)
        }
        return { camera.launch(uri) }
    }

    @SuppressLint("MissingPermission") // the fix is read only once the permission is granted
    @Composable
    override fun rememberLocation(onFix: (Location) -> Unit): () -> Unit {
        val context = LocalContext.current
        val permission = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
            if (granted) LocationServices.getFusedLocationProviderClient(context)
                .getCurrentLocation(Priority.PRIORITY_HIGH_ACCURACY, null)
                .addOnSuccessListener { fix -> fix?.let { onFix(Location(it.latitude, it.longitude, it.accuracy.toDouble())) } }
        }
        return { permission.launch(Manifest.permission.ACCESS_FINE_LOCATION) }
    }

    @Suppress("UNCHECKED_CAST") // one key, one model type: the key names the screen the model belongs to
    @Composable
    override fun <T : Any> rememberModel(key: String, create: (CoroutineScope) -> T): T =
        viewModel(key = key) { ModelHolder(create) }.model as T

    /** Reads the camera's file and deletes it: the photo's only copy then lives in the encrypted store. */
    private fun readAndDelete(context: Context, uri: Uri): ByteArray? =
        context.contentResolver.openInputStream(uri)?.use { it.readBytes() }
            .also { context.contentResolver.delete(uri, null, null) }
}
