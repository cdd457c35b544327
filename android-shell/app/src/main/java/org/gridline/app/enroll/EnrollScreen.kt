// Enrollment (server address + one-time code): Android only, since the store key comes from the Keystore.
package org.gridline.app.enroll

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.gridline.app.GridlineApp
import org.gridline.app.data.StoreKey
import org.gridline.app.logic.ErrorMessages
import org.gridline.app.logic.ScreenError
import org.gridline.app.ui.ErrorText
import org.gridline.app.ui.Heading
import org.gridline.app.ui.str
import org.gridline.ffi.GridlineException
import org.gridline.ffi.GridlineStore

@Composable
fun EnrollScreen(app: GridlineApp, onEnrolled: (GridlineStore) -> Unit) {
    var url by remember { mutableStateOf("https://") }
    var code by remember { mutableStateOf("") }
    var error by remember { mutableStateOf<ScreenError?>(null) }
    val scope = rememberCoroutineScope()
    Column(Modifier.padding(16.dp)) {
        Heading(str("enroll_title"))
        OutlinedTextField(url, { url = it }, label = { Text(str("enroll_server")) }, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(code, { code = it }, label = { Text(str("enroll_code")) }, modifier = Modifier.fillMaxWidth())
        Button(onClick = {
            scope.launch {
                try {
                    val store = withContext(Dispatchers.IO) { GridlineStore.enroll(app.storeDir, StoreKey.get(app), url.trim(), code.trim()) }
                    app.enrolled(store)
                    onEnrolled(store)
                } catch (e: GridlineException) {
                    error = ErrorMessages.of(e)
                }
            }
        }) { Text(str("save")) }
        error?.let { ErrorText(it) }
    }
}
