// The app module. Rust: `build-jni.sh` puts libgridline_ffi.so per ABI into src/main/jniLibs; the
// `generateGridlineBindings` task runs uniffi-bindgen on the host library into build/generated/gridline
// before Kotlin compiles. The pure-Kotlin layer (src/main/java/org/gridline/app/logic) is also compiled
// and tested on a desktop JVM by ../jvm-tests.
import org.gradle.api.tasks.Exec

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

val repoRoot = rootProject.projectDir.parentFile
val generatedKotlin = layout.buildDirectory.dir("generated/gridline/kotlin")

android {
    namespace = "org.gridline.app"
    compileSdk = 34

    defaultConfig {
        applicationId = "org.gridline.app"
        minSdk = 26
        targetSdk = 34
        versionCode = 1
        versionName = "0.1.0"
        // Chinese first, English second: drop every other locale from dependencies.
        resourceConfigurations += listOf("zh-rCN", "en")
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions {
        jvmTarget = "17"
    }
    buildFeatures {
        compose = true
    }
    sourceSets["main"].java.srcDir(generatedKotlin)
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
tasks.named("preBuild") { dependsOn(generateGridlineBindings) }

dependencies {
    val composeBom = platform("androidx.compose:compose-bom:2024.09.00")
    implementation(composeBom)
    implementation("androidx.compose.material3:material3")
    implementation("androidx.compose.ui:ui")
    implementation("androidx.compose.ui:ui-tooling-preview")
    implementation("androidx.activity:activity-compose:1.9.2")
    implementation("androidx.lifecycle:lifecycle-viewmodel-compose:2.8.5")
    implementation("androidx.navigation:navigation-compose:2.8.0")
    implementation("androidx.work:work-runtime-ktx:2.9.1")
    implementation("com.google.android.gms:play-services-location:21.3.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.1")
    // uniffi's Kotlin uses JNA; the @aar variant carries the Android native dispatch library.
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    debugImplementation("androidx.compose.ui:ui-tooling")
}
