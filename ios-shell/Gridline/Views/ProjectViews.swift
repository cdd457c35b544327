// Service projects (项目化): the community's projects with their status and residents' average rating, and one
// project with its ratings, where a field worker records a household's rating once the project is done
// (民事民评). Which statuses and ratings count, and who may rate, is the core's (`may_evaluate`).
import SwiftUI
import Gridline

struct ProjectListView: View {
    @EnvironmentObject var model: AppModel
    @State private var list: ProjectList?
    @State private var error: String?

    var body: some View {
        List {
            if let error { Text(error).foregroundStyle(.red) }
            if list?.items.isEmpty == true { Text(t("projects_empty")) }
            ForEach(list?.items ?? [], id: \.projectId) { p in
                NavigationLink(value: p.projectId) {
                    VStack(alignment: .leading) {
                        Text(p.title).font(.headline)
                        Text("\(p.organisation) · \(t(p.status.labelKey))")
                        if let average = p.ratingAverage {
                            Text(t("project_ratings", Int(p.ratingCount), String(format: "%.2f", average))).font(.caption)
                        }
                    }
                }
            }
        }
        .navigationTitle(t("tab_projects"))
        .navigationDestination(for: String.self) { ProjectDetailView(projectId: $0) }
        .refreshable { await load() }
        .task { await load() }
    }

    private func load() async {
        switch await model.run({ try $0.projectList(filter: ProjectFilter(status: nil)) }) {
        case let .success(l): list = l; error = nil
        case let .failure(e): error = message(for: e)
        }
    }
}

struct ProjectDetailView: View {
    let projectId: String
    @EnvironmentObject var model: AppModel
    @State private var detail: ProjectDetail?
    @State private var household = ""
    @State private var rating: UInt8?
    @State private var note = ""
    @State private var error: String?

    var body: some View {
        Form {
            if let d = detail {
                Section {
                    Text(d.title).font(.headline)
                    Text("\(d.organisation) · \(t(d.status.labelKey))")
                    if let budget = d.budgetYuan { Text(t("project_budget", Int(budget))) }
                    let average = d.ratings.average.map { String(format: "%.2f", $0) } ?? "–"
                    Text(t("project_ratings", Int(d.ratings.count), average))
                }
                Section(t("project_rating_list")) {
                    ForEach(d.ratings.items, id: \.ratingId) { r in
                        Text("\(r.householdCode) \(String(repeating: "★", count: max(0, min(5, Int(r.rating))))) · \(t(r.state.labelKey))")
                            .strikethrough(r.state != .stands)
                    }
                }
                // Exactly when the core allows this user to rate now.
                if d.mayEvaluate {
                    Section(t("project_rate")) {
                        TextField(t("project_household_input"), text: $household)
                        Picker(t("order_rate"), selection: $rating) {
                            ForEach(1...5, id: \.self) { stars in Text(String(repeating: "★", count: stars)).tag(Optional(UInt8(stars))) }
                        }
                        .pickerStyle(.segmented)
                        TextField(t("order_act_note"), text: $note, axis: .vertical)
                        Button(t("project_rate")) { Task { await evaluate() } }
                            .disabled(rating == nil || household.trimmingCharacters(in: .whitespaces).isEmpty)
                    }
                }
            }
            if let error { Text(error).foregroundStyle(.red) }
        }
        .navigationTitle(t("tab_projects"))
        .task { await load() }
    }

    private func load() async {
        switch await model.run({ [projectId] in try $0.projectDetail(projectId: projectId) }) {
        case let .success(d): detail = d; error = nil
        case let .failure(e): error = message(for: e)
        }
    }

    /// Sends the household and the rating; the core checks the range, the household's scope and that the
    /// project is done (`project_not_done`).
    private func evaluate() async {
        guard let rating else { return }
        let input = NewProjectRating(householdCode: household.trimmingCharacters(in: .whitespaces), rating: rating,
                                     note: note.trimmingCharacters(in: .whitespacesAndNewlines))
        switch await model.run({ [projectId] in try $0.projectEvaluate(projectId: projectId, rating: input) }) {
        case let .success(after): detail = after; household = ""; self.rating = nil; note = ""; error = nil
        case let .failure(e): error = message(for: e)
        }
    }
}
