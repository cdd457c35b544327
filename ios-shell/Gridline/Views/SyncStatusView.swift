// Sync status: last sync, pending counts, progress through a SyncObserver, cancel; enrollment when needed.
import SwiftUI
import Gridline

/// Forwards the core's progress to the main actor.
final class ProgressRelay: SyncObserver, @unchecked Sendable {
    let onStage: @MainActor (SyncStage) -> Void
    init(_ onStage: @escaping @MainActor (SyncStage) -> Void) { self.onStage = onStage }
    func onProgress(stage: SyncStage, soFar: SyncReport) { Task { @MainActor in onStage(stage) } }
}

struct SyncStatusView: View {
    @EnvironmentObject var model: AppModel
    @State private var status: SyncStatus?
    @State private var running = false
    @State private var fraction: Double?
    @State private var cancel = SyncCancel()
    @State private var error: String?

    var body: some View {
        Form {
            if let s = status {
                Text(s.lastSyncAt.map { t("sync_last", String($0.prefix(16))) } ?? t("sync_never"))
                Text(t("sync_pending", Int(s.pendingDocuments), Int(s.pendingPhotos)))
            }
            if running {
                ProgressView(value: fraction).progressViewStyle(.linear)
                Button(t("sync_cancel")) { cancel.cancel() }
            } else {
                Button(t("sync_now")) { Task { await syncNow() } }
            }
            if let error { Text(error).foregroundStyle(.red) }
        }
        .navigationTitle(t("tab_sync"))
        .task { await refresh() }
    }

    private func refresh() async {
        if case let .success(s) = await model.run({ try $0.syncStatus() }) { status = s }
    }

    private func syncNow() async {
        running = true; error = nil; cancel = SyncCancel()
        let relay = ProgressRelay { stage in
            if case let .blobs(done, total) = stage, total > 0 { fraction = Double(done) / Double(total) }
        }
        let c = cancel
        if case let .failure(e) = await model.run({ try $0.sync(observer: relay, cancel: c) }) { error = message(for: e) }
        running = false
        await refresh()
    }
}

struct EnrollView: View {
    @EnvironmentObject var model: AppModel
    @State private var url = "https://"
    @State private var code = ""
    @State private var error: String?

    var body: some View {
        Form {
            TextField(t("enroll_server"), text: $url).textInputAutocapitalization(.never)
            TextField(t("enroll_code"), text: $code).textInputAutocapitalization(.never)
            Button(t("save")) { Task { await enroll() } }
            if let error { Text(error).foregroundStyle(.red) }
        }
        .navigationTitle(t("enroll_title"))
    }

    private func enroll() async {
        let (u, c) = (url, code)
        do {
            let store = try await Task.detached {
                try GridlineStore.enroll(dir: AppModel.storeDir, key: StoreKey.get(), serverUrl: u, code: c)
            }.value
            AppModel.adopt(store)
            await model.open()
            Task.detached { BackgroundSync.runOnce() }
        } catch {
            self.error = message(for: error)
        }
    }
}
