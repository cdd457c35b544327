// Visits due (phone, door, home per resident, follow-ups) and the visit record form.
import SwiftUI
import Gridline

struct VisitsDueView: View {
    @EnvironmentObject var model: AppModel
    @State private var due: VisitsDue?
    @State private var error: String?

    var body: some View {
        List {
            if let error { Text(error).foregroundStyle(.red) }
            ForEach(Array((due?.items ?? []).enumerated()), id: \.offset) { _, item in
                NavigationLink { VisitRecordView(householdCode: item.householdCode, resident: item.resident) } label: {
                    VStack(alignment: .leading) {
                        Text("\(item.resident ?? item.householdCode) · \(t(item.contact.labelKey))")
                        Text(t("address_format", item.building, item.unit, Int(item.floor), item.room)).font(.caption)
                        if item.overdueDays > 0 { Text(t("overdue_days", Int(item.overdueDays))).foregroundStyle(.red) }
                    }
                }
            }
        }
        .navigationTitle(t("tab_visits"))
        .refreshable { await load() }
        .task { await load() }
    }

    private func load() async {
        switch await model.run({ try $0.visitsDue(date: nil) }) {
        case let .success(d): due = d; error = nil
        case let .failure(e): error = message(for: e)
        }
    }
}

struct VisitRecordView: View {
    let householdCode: String
    let resident: String?
    @EnvironmentObject var model: AppModel
    @State private var kind = VisitKind.home
    @State private var services: Set<String> = []
    @State private var needs = ""
    @State private var satisfaction = 5
    @State private var status: String?

    var body: some View {
        Form {
            Picker(t("checkin_kind"), selection: $kind) {
                Text(t("contact_home")).tag(VisitKind.home)
                Text(t("contact_door")).tag(VisitKind.door)
                Text(t("contact_phone")).tag(VisitKind.phone)
            }
            Section(t("visit_services")) {
                ForEach(model.store?.settings().visitServices ?? [], id: \.code) { s in
                    Toggle(Locale.current.language.languageCode?.identifier == "zh" ? s.nameZh : s.nameEn,
                           isOn: Binding(get: { services.contains(s.code) },
                                         set: { on in if on { services.insert(s.code) } else { services.remove(s.code) } }))
                }
            }
            TextField(t("visit_needs"), text: $needs, axis: .vertical)
            Stepper("\(t("visit_satisfaction")) \(satisfaction)", value: $satisfaction, in: 1...5)
            Button(t("save")) { Task { await save() } }
            if let status { Text(status) }
        }
        .navigationTitle(t("visit_record"))
    }

    private func save() async {
        let input = NewVisit(householdCode: householdCode, residents: resident.map { [$0] } ?? [], kind: kind, at: nil,
                             durationMin: nil, services: services.sorted(), needs: needs, needTags: [], followUp: nil,
                             satisfaction: UInt8(satisfaction), photos: [])
        switch await model.run({ try $0.recordVisit(visit: input) }) {
        case .success: status = t("saved")
        case let .failure(e): status = message(for: e)
        }
    }
}
