// Today's rounds, in the core's walking order, with the rotation section marked.
import SwiftUI
import Gridline

struct RoundsView: View {
    @EnvironmentObject var model: AppModel
    @State private var rounds: Rounds?
    /// A building lead's buildings (empty for every other role): its rounds cover only these.
    @State private var buildings: [String] = []
    @State private var error: String?

    var body: some View {
        List {
            if let error { Text(error).foregroundStyle(.red) }
            if !buildings.isEmpty {
                Text(t("rounds_buildings", buildings.map { t("building_name", $0) }.joined(separator: t("list_separator"))))
                    .font(.subheadline)
            }
            if let rounds {
                ForEach(Array(rounds.items.enumerated()), id: \.element.householdCode) { index, item in
                    if index == rounds.items.firstIndex(where: { $0.rotationOnly }) {
                        Text(t("rounds_rotation_header")).font(.headline)
                    }
                    NavigationLink(value: item.householdCode) {
                        VStack(alignment: .leading) {
                            Text(t("address_format", item.building, item.unit, Int(item.floor), item.room))
                            Text(item.reasons.map { t($0.contact.labelKey) }.joined(separator: " · ")).font(.caption)
                            if item.overdueDays > 0 { Text(t("overdue_days", Int(item.overdueDays))).foregroundStyle(.red) }
                        }
                    }
                }
            }
        }
        .navigationTitle(t("tab_rounds"))
        .navigationDestination(for: String.self) { HouseholdView(code: $0) }
        .refreshable { await load() }
        .task { await load() }
    }

    private func load() async {
        switch await model.run({ try $0.rounds(date: nil) }) {
        case let .success(r): rounds = r; error = nil; buildings = model.store?.device().buildings ?? []
        case let .failure(e): error = message(for: e)
        }
    }
}
