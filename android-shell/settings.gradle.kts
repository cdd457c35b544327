// Gridline Android shell: the shared screens and presenters (Kotlin Multiplatform: Android and desktop JVM) and
// the Android app over them.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "gridline-android"
include(":shared", ":app")
