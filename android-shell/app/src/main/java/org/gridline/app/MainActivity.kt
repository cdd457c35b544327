// The one activity: hosts the Compose navigation graph.
package org.gridline.app

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import org.gridline.app.ui.GridlineNavHost

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent { GridlineNavHost(application as GridlineApp) }
    }
}
