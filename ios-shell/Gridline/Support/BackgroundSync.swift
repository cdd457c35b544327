// Background sync: a BGProcessingTask (network required) scheduled after each sync, and an NWPathMonitor that
// syncs as soon as connectivity returns while the app runs. The sync itself is the core's; the OS ending the
// task flips the SyncCancel so the core stops between two steps, keeping what was exchanged.
import BackgroundTasks
import Network
import Gridline

enum BackgroundSync {
    static let taskId = "org.gridline.sync"
    private static let monitor = NWPathMonitor()

    /// Registers the task handler and the connectivity monitor; call once at launch.
    static func register() {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: taskId, using: nil) { task in
            handle(task as! BGProcessingTask)
        }
        monitor.pathUpdateHandler = { path in
            if path.status == .satisfied { Task.detached { _ = runOnce() } }
        }
        monitor.start(queue: DispatchQueue(label: "org.gridline.path"))
        schedule()
    }

    /// Asks the OS for a sync when the network is available (earliest in 15 minutes).
    static func schedule() {
        let request = BGProcessingTaskRequest(identifier: taskId)
        request.requiresNetworkConnectivity = true
        request.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        try? BGTaskScheduler.shared.submit(request)
    }

    private static func handle(_ task: BGProcessingTask) {
        schedule()
        let cancel = SyncCancel()
        task.expirationHandler = { cancel.cancel() }
        Task.detached { task.setTaskCompleted(success: runOnce(cancel: cancel)) }
    }

    /// One sync with the stored key; blocking (network and disk): never on the main thread.
    @discardableResult
    static func runOnce(cancel: SyncCancel = SyncCancel(), observer: SyncObserver? = nil) -> Bool {
        // One store object per process: a second one would keep its own document cache.
        guard let store = try? AppModel.openShared() else { return false }
        do {
            _ = try store.sync(observer: observer, cancel: cancel)
            UserDefaults.standard.set(Date(), forKey: "lastSyncAt")
            return true
        } catch {
            return false
        }
    }
}
