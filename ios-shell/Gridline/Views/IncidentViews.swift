// Incident list, detail with the actions the core allows this role, and capture.
import SwiftUI
import Gridline

struct IncidentListView: View {
    @EnvironmentObject var model: AppModel
    @State private var list: IncidentList?
    @State private var error: String?

    var body: some View {
        List {
            if let error { Text(error).foregroundStyle(.red) }
            NavigationLink(t("incident_report")) { IncidentCaptureView(householdCode: nil) }
            ForEach(list?.items ?? [], id: \.incidentId) { item in
                NavigationLink(value: item.incidentId) {
                    VStack(alignment: .leading) {
                        Text(item.title).font(.headline)
                        Text("\(t(item.stage.labelKey)) · \(t(item.severity.labelKey))").font(.caption)
                        if item.overdue { Text(t("incident_overdue")).foregroundStyle(.red) }
                    }
                }
            }
        }
        .navigationTitle(t("tab_incidents"))
        .navigationDestination(for: String.self) { IncidentDetailView(incidentId: $0) }
        .refreshable { await load() }
        .task { await load() }
    }

    private func load() async {
        let filter = IncidentFilter(stage: nil, severity: nil, grid: nil, overdue: false, waitingForMe: false)
        switch await model.run({ try $0.incidentList(filter: filter) }) {
        case let .success(l): list = l; error = nil
        case let .failure(e): error = message(for: e)
        }
    }
}

struct IncidentDetailView: View {
    let incidentId: String
    @EnvironmentObject var model: AppModel
    @State private var detail: IncidentDetail?
    @State private var note = ""
    @State private var assignee = ""
    @State private var error: String?

    var body: some View {
        Form {
            if let d = detail {
                Section {
                    Text(d.title).font(.headline)
                    Text("\(t(d.stage.labelKey)) · \(t(d.severity.labelKey))")
                    if let deadline = d.deadline { Text(t("incident_deadline", deadline)) }
                    Text(d.description)
                }
                Section(t("incident_history")) {
                    ForEach(d.events, id: \.eventId) { e in
                        Text("\(e.at.prefix(16)) \(t("action_\(e.action)")) \(e.actor) \(e.note)")
                            .strikethrough(!e.applied)
                    }
                }
                Section {
                    TextField(t("incident_act_comment"), text: $note, axis: .vertical)
                    if d.allowedActions.contains(.verify) { TextField(t("assignee"), text: $assignee) }
                    // Exactly the actions the core allows this device's role now.
                    ForEach(d.allowedActions, id: \.self) { action in
                        if action == .evaluate {
                            Button(t("satisfied")) { Task { await act(action, satisfied: true) } }
                            Button(t("not_satisfied")) { Task { await act(action, satisfied: false) } }
                        } else {
                            Button(t(action.labelKey)) { Task { await act(action, satisfied: nil) } }
                        }
                    }
                }
            }
            if let error { Text(error).foregroundStyle(.red) }
        }
        .navigationTitle(t("tab_incidents"))
        .task { await load() }
    }

    private func load() async {
        if case let .success(d) = await model.run({ try $0.incidentDetail(incidentId: incidentId) }) { detail = d }
    }

    private func act(_ action: Action, satisfied: Bool?) async {
        let input = IncidentAct(action: action, note: note, assignee: assignee.isEmpty ? nil : assignee,
                                duplicateOf: nil, satisfied: satisfied, photos: [])
        switch await model.run({ [incidentId] in try $0.incidentAct(incidentId: incidentId, act: input) }) {
        case let .success(d): detail = d; note = ""; error = nil
        case let .failure(e): error = message(for: e)
        }
    }
}

struct IncidentCaptureView: View {
    let householdCode: String?
    @EnvironmentObject var model: AppModel
    @State private var category = ""
    @State private var severity = Severity.normal
    @State private var title = ""
    @State private var description = ""
    @State private var status: String?

    var body: some View {
        Form {
            Picker(t("incident_category"), selection: $category) {
                ForEach(model.store?.settings().incidentCategories ?? [], id: \.code) { c in
                    Text(Locale.current.language.languageCode?.identifier == "zh" ? c.nameZh : c.nameEn).tag(c.code)
                }
            }
            Picker(t("incident_severity"), selection: $severity) {
                Text(t("severity_normal")).tag(Severity.normal)
                Text(t("severity_urgent")).tag(Severity.urgent)
            }
            TextField(t("incident_title"), text: $title)
            TextField(t("incident_description"), text: $description, axis: .vertical)
            Button(t("save")) { Task { await report() } }
            if let status { Text(status) }
        }
        .navigationTitle(t("incident_report"))
    }

    private func report() async {
        let input = NewIncident(householdCode: householdCode, grid: nil, category: category, severity: severity,
                                title: title, description: description, photos: [], location: nil, at: nil,
                                checkInId: nil)
        switch await model.run({ try $0.reportIncident(incident: input) }) {
        case .success: status = t("saved")
        case let .failure(e): status = message(for: e)
        }
    }
}
