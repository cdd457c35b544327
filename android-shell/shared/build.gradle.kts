// The shared screens (ui/) and presenters (logic/) with the generated Kotlin bindings: a Kotlin Multiplatform
// module with an Android and a desktop JVM target. Both targets compile src/jvmCommon/kotlin — a source folder
// added to each target rather than commonMain, because the code uses the JVM (the bindings run on JNA,
// java.time) and both targets are JVMs. The composables use Compose Multiplatform APIs only. The desktop target
// is what pom.xml beside this file builds with Maven (bindings/test.sh).
import org.gradle.api.tasks.Exec
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("org.jetbrains.kotlin.multiplatform")
    id("com.android.library")
    id("org.jetbrains.kotlin.plugin.compose")
    id("org.jetbrains.compose")
}

val repoRoot = rootProject.projectDir.parentFile
val generatedKotlin = layout.buildDirectory.dir("generated/gridline/kotlin")
val jvmCommon = "src/jvmCommon/kotlin"

kotlin {
    androidTarget {
        compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
    }
    jvm("desktop")

    sourceSets {
        commonMain.dependencies {
            implementation(compose.runtime)
            implementation(compose.foundation)
            implementation(compose.material3)
            implementation("org.jetbrains.compose.material:material-icons-core:1.7.3")
            implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.8.0")
        }
        androidMain {
            kotlin.srcDir(jvmCommon)
            kotlin.srcDir(generatedKotlin)
            dependencies {
                // uniffi's Kotlin uses JNA; the @aar variant carries the Android native dispatch library.
                implementation("net.java.dev.jna:jna:5.14.0@aar")
            }
        }
        val desktopMain by getting {
            kotlin.srcDir(jvmCommon)
            kotlin.srcDir(generatedKotlin)
            dependencies {
                implementation("net.java.dev.jna:jna:5.14.0")
            }
        }
    }
}

android {
    namespace = "org.gridline.app.shared"
    compileSdk = 34
    defaultConfig { minSdk = 26 }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

// Generates the Kotlin bindings from the host build of gridline-ffi (bindings/generate.sh builds it), so the
// Kotlin always matches the Rust it loads.
val generateGridlineBindings by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine("bash", "bindings/generate.sh")
    inputs.dir(File(repoRoot, "core/src"))
    inputs.dir(File(repoRoot, "bindings/gridline-ffi/src"))
    outputs.dir(generatedKotlin)
    doLast {
        copy {
            from(File(repoRoot, "bindings/generated/kotlin"))
            into(generatedKotlin)
        }
    }
}
tasks.matching { it.name.startsWith("compile") && it.name.contains("Kotlin") }.configureEach {
    dependsOn(generateGridlineBindings)
}
