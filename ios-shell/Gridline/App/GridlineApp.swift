// The app: opens the store off the main thread, shows the tabs, registers background sync.
import SwiftUI
import Gridline

@main
struct GridlineApp: App {
    @StateObject private var model = AppModel()

    init() { BackgroundSync.register() }

    var body: some Scene {
        WindowGroup {
            if model.opened && model.store == nil {
                NavigationStack { EnrollView() }.environmentObject(model)
            } else {
                tabs.task { await model.open() }
            }
        }
    }

    private var tabs: some View {
        Group {
            // A volunteer's device has no rounds, incidents or visits (its store holds none) and opens on its orders.
            if model.store?.device().role == .volunteer {
                TabView {
                    NavigationStack { OrderListView(mine: true) }.tabItem { Label(t("tab_my_orders"), systemImage: "hand.raised") }
                    NavigationStack { SyncStatusView() }.tabItem { Label(t("tab_sync"), systemImage: "arrow.triangle.2.circlepath") }
                }
            } else {
                TabView {
                    NavigationStack { RoundsView() }.tabItem { Label(t("tab_rounds"), systemImage: "figure.walk") }
                    NavigationStack { IncidentListView() }.tabItem { Label(t("tab_incidents"), systemImage: "exclamationmark.bubble") }
                    NavigationStack { VisitsDueView() }.tabItem { Label(t("tab_visits"), systemImage: "house") }
                    NavigationStack { OrderListView(mine: false) }.tabItem { Label(t("tab_orders"), systemImage: "hand.raised") }
                    NavigationStack { ProjectListView() }.tabItem { Label(t("tab_projects"), systemImage: "star.bubble") }
                    NavigationStack { SyncStatusView() }.tabItem { Label(t("tab_sync"), systemImage: "arrow.triangle.2.circlepath") }
                }
            }
        }
        .environmentObject(model)
    }
}

/// Holds the opened store. Every store call does disk I/O: views call `model.run { … }`, which runs it on a
/// background task and comes back to the main actor with the result.
@MainActor
final class AppModel: ObservableObject {
    @Published private(set) var store: GridlineStore?
    @Published var error: String?
    @Published private(set) var opened = false

    nonisolated static var storeDir: String {
        FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
            .appendingPathComponent("gridline").path
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var shared: GridlineStore?

    /// The process's one store object, opened on first use (nil until enrolled). Blocking: off the main thread.
    nonisolated static func openShared() throws -> GridlineStore? {
        lock.lock(); defer { lock.unlock() }
        if let shared { return shared }
        guard FileManager.default.fileExists(atPath: storeDir + "/gridline.db") else { return nil }
        shared = try GridlineStore.open(dir: storeDir, key: StoreKey.get())
        return shared
    }

    /// Adopts the store created by enrollment.
    nonisolated static func adopt(_ store: GridlineStore) {
        lock.lock(); defer { lock.unlock() }
        shared = store
    }

    func open() async {
        do {
            store = try await Task.detached { try AppModel.openShared() }.value
            opened = true
        } catch {
            self.error = message(for: error)
        }
    }

    /// Runs a store call off the main thread.
    func run<T>(_ call: @escaping @Sendable (GridlineStore) throws -> T) async -> Result<T, Error> {
        guard let store else { return .failure(GridlineError.Store(code: .storeNotInitialised, detail: "")) }
        return await Task.detached { Result { try call(store) } }.value
    }
}
