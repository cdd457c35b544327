// Household detail, the check-in form (kind, outcome, note, camera photo, location), and ordering a service.
import CoreLocation
import SwiftUI
import Gridline

struct HouseholdView: View {
    let code: String
    @EnvironmentObject var model: AppModel
    @State private var detail: HouseholdDetail?
    @State private var kind: CheckInKind?
    @State private var outcome: CheckInOutcome?
    @State private var note = ""
    @State private var photos: [String] = []
    @State private var location: Location?
    @State private var showCamera = false
    @State private var status: String?
    @State private var reportIncident = false
    @StateObject private var locator = Locator()

    var body: some View {
        Form {
            if let d = detail {
                Section(t("household_residents")) {
                    ForEach(d.residents, id: \.name) { r in
                        Text("\(r.name) \(r.birthYear) " + r.tags.map { t("tag_\($0)") }.joined(separator: " · "))
                    }
                }
                Section(t("household_due")) {
                    ForEach(d.due, id: \.contact) { Text("\(t($0.contact.labelKey)) \($0.dueDate)") }
                }
                NavigationLink(t("order_request")) { OrderRequestView(householdCode: code) }
                NavigationLink(t("survey_title")) { SurveyView(householdCode: code) }
            }
            Section(t("checkin_title")) {
                Picker(t("checkin_kind"), selection: $kind) {
                    ForEach([CheckInKind.door, .phone, .observed, .absent], id: \.self) { Text(t("kind_\($0)")).tag(Optional($0)) }
                }
                Picker(t("checkin_outcome"), selection: $outcome) {
                    ForEach([CheckInOutcome.well, .attention, .problem], id: \.self) { Text(t("outcome_\($0)")).tag(Optional($0)) }
                }
                TextField(t("checkin_note"), text: $note, axis: .vertical)
                Button(t("take_photo") + " (\(photos.count))") { showCamera = true }
                Button(t("add_location") + (location == nil ? "" : " ✓")) {
                    locator.fix { location = $0 }
                }
                Button(t("save")) { Task { await save() } }.disabled(kind == nil || outcome == nil)
                if let status { Text(status) }
            }
            if let d = detail {
                Section(t("household_checkins")) {
                    ForEach(d.checkIns, id: \.checkInId) { c in
                        Text("\(c.at.prefix(16)) \(t(c.kind.labelKey)) \(t(c.outcome.labelKey)) \(c.note)")
                    }
                }
            }
        }
        .navigationTitle(code)
        .sheet(isPresented: $showCamera) {
            CameraPicker { jpeg in Task { await addPhoto(jpeg) } }
        }
        .navigationDestination(isPresented: $reportIncident) { IncidentCaptureView(householdCode: code) }
        .task { await load() }
    }

    private func load() async {
        if case let .success(d) = await model.run({ try $0.householdDetail(householdCode: code) }) { detail = d }
    }

    private func addPhoto(_ jpeg: Data) async {
        switch await model.run({ try $0.addPhoto(bytes: jpeg) }) {
        case let .success(hash): photos.append(hash)
        case let .failure(e): status = message(for: e)
        }
    }

    private func save() async {
        guard let kind, let outcome else { return }
        let input = NewCheckIn(householdCode: code, kind: kind, outcome: outcome, note: note, photos: photos,
                               location: location, at: nil)
        switch await model.run({ try $0.checkIn(checkIn: input) }) {
        case .success:
            status = t("saved")
            reportIncident = outcome == .problem
            note = ""; photos = []; location = nil; self.kind = nil; self.outcome = nil
            await load()
        case let .failure(e): status = message(for: e)
        }
    }
}

/// One location fix on request.
final class Locator: NSObject, ObservableObject, CLLocationManagerDelegate {
    private let manager = CLLocationManager()
    private var done: ((Location) -> Void)?

    func fix(_ done: @escaping (Location) -> Void) {
        self.done = done
        manager.delegate = self
        manager.requestWhenInUseAuthorization()
        manager.requestLocation()
    }

    func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        guard let l = locations.last else { return }
        done?(Location(lat: l.coordinate.latitude, lon: l.coordinate.longitude, accuracyM: l.horizontalAccuracy))
    }

    func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {}
}

/// The camera, returning JPEG bytes; the image goes straight into the encrypted store, never the photo library.
struct CameraPicker: UIViewControllerRepresentable {
    let onJPEG: (Data) -> Void

    func makeUIViewController(context: Context) -> UIImagePickerController {
        let picker = UIImagePickerController()
        picker.sourceType = UIImagePickerController.isSourceTypeAvailable(.camera) ? .camera : .photoLibrary
        picker.delegate = context.coordinator
        return picker
    }

    func updateUIViewController(_ controller: UIImagePickerController, context: Context) {}

    func makeCoordinator() -> Coordinator { Coordinator(onJPEG) }

    final class Coordinator: NSObject, UIImagePickerControllerDelegate, UINavigationControllerDelegate {
        let onJPEG: (Data) -> Void
        init(_ onJPEG: @escaping (Data) -> Void) { self.onJPEG = onJPEG }

        func imagePickerController(_ picker: UIImagePickerController,
                                   didFinishPickingMediaWithInfo info: [UIImagePickerController.InfoKey: Any]) {
            if let image = info[.originalImage] as? UIImage, let jpeg = image.jpegData(compressionQuality: 0.7) { onJPEG(jpeg) }
            picker.dismiss(animated: true)
        }
    }
}
