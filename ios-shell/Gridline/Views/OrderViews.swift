// Service orders: the list (a volunteer's "my orders" with their points), one order with exactly the actions the
// core allows (accept, decline, done with a photo, rate 1–5 …), and "order a service for this household".
import SwiftUI
import Gridline

/// A service's name from the community's catalogue in the user's language; the code when it is not listed.
func serviceName(_ settings: CommunitySettings?, _ code: String) -> String {
    guard let offer = settings?.serviceCatalogue.first(where: { $0.code == code }) else { return code }
    return Locale.current.language.languageCode?.identifier == "zh" ? offer.nameZh : offer.nameEn
}

/// A picked day as the core reads it, `YYYY-MM-DD` in the phone's calendar. Due days come from a picker, never
/// typed: text that is not a date fails in the bindings' argument conversion (an internal error, not a
/// `GridlineError`). Whether the day is allowed (today to a year ahead) is the core's to say.
func dayText(_ date: Date) -> String {
    let f = DateFormatter()
    f.calendar = Calendar(identifier: .gregorian)
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = .current
    f.dateFormat = "yyyy-MM-dd"
    return f.string(from: date)
}

/// An optional due day: off by default (the core's default applies), a date picker when switched on.
struct DueDayPicker: View {
    @Binding var day: Date?

    var body: some View {
        Toggle(t("order_due_input"), isOn: Binding(get: { day != nil }, set: { day = $0 ? Date() : nil }))
        if let picked = day {
            DatePicker(t("order_due", dayText(picked)), selection: Binding(get: { picked }, set: { day = $0 }),
                       in: Date()..., displayedComponents: .date)
        }
    }
}

struct OrderListView: View {
    /// Only the user's own: on a volunteer's device the orders dispatched to them (我的服务单).
    let mine: Bool
    @EnvironmentObject var model: AppModel
    @State private var list: OrderList?
    @State private var points: PointsBalance?
    @State private var history: [PointsEntry] = []
    /// Each order's detail (resident, address, phone), on a volunteer's device only: it has no roster and holds
    /// only the few orders dispatched to it.
    @State private var contacts: [String: OrderDetail] = [:]
    @State private var error: String?

    var body: some View {
        List {
            if let error { Text(error).foregroundStyle(.red) }
            if let p = points {
                Section {
                    Text(t("points_balance", Int(p.balance))).font(.title2)
                    Text(t("points_detail", Int(p.earned), Int(p.redeemed)))
                    if p.pending > 0 { Text(t("points_pending", Int(p.pending))) }
                }
            }
            if list?.items.isEmpty == true { Text(t("orders_empty")) }
            ForEach(list?.items ?? [], id: \.orderId) { item in
                NavigationLink(value: item.orderId) {
                    VStack(alignment: .leading) {
                        Text("\(serviceName(model.store?.settings(), item.service)) · \(t(item.stage.labelKey))").font(.headline)
                        if let c = contacts[item.orderId] {
                            Text([c.resident, c.address].compactMap { $0 }.joined(separator: " · "))
                            if let phone = c.phone { Text(t("order_phone", phone)) }
                        } else {
                            Text(item.householdCode)
                        }
                        if let due = item.due { Text(t("order_due", due)).font(.caption) }
                        if item.overdueDays > 0 { Text(t("overdue_days", Int(item.overdueDays))).foregroundStyle(.red) }
                    }
                }
            }
            if !history.isEmpty {
                Section(t("points_history")) {
                    ForEach(history, id: \.entryId) { e in
                        let sign = e.kind == .credit ? "+" : "−"
                        let status = e.status.map { " · " + t($0.labelKey) } ?? ""
                        Text("\(e.at.prefix(10)) \(t(e.kind.labelKey)) \(entryName(e)) ×\(e.quantity) \(sign)\(e.points)\(status)")
                    }
                }
            }
        }
        .navigationTitle(t(mine ? "tab_my_orders" : "tab_orders"))
        .navigationDestination(for: String.self) { OrderDetailView(orderId: $0) }
        .refreshable { await load() }
        .task { await load() }
    }

    private func load() async {
        let filter = OrderFilter(stage: nil, mine: mine, grid: nil, overdue: false)
        switch await model.run({ try $0.orderList(filter: filter) }) {
        case let .success(l): list = l; error = nil
        case let .failure(e): error = message(for: e)
        }
        guard model.store?.device().role == .volunteer else { return }
        if case let .success(p) = await model.run({ try $0.pointsBalance(volunteer: nil) }) { points = p }
        if case let .success(h) = await model.run({ try $0.pointsHistory(volunteer: nil) }) { history = h }
        let ids = list?.items.map(\.orderId) ?? []
        if case let .success(details) = await model.run({ store in try ids.map { try store.orderDetail(orderId: $0) } }) {
            contacts = Dictionary(uniqueKeysWithValues: details.map { ($0.orderId, $0) })
        }
    }

    /// The service's or the shop item's name in the user's language.
    private func entryName(_ e: PointsEntry) -> String {
        if e.kind == .credit { return serviceName(model.store?.settings(), e.code) }
        guard let item = model.store?.settings().shopItems.first(where: { $0.code == e.code }) else { return e.code }
        return Locale.current.language.languageCode?.identifier == "zh" ? item.nameZh : item.nameEn
    }
}

struct OrderDetailView: View {
    let orderId: String
    @EnvironmentObject var model: AppModel
    @State private var detail: OrderDetail?
    /// The action whose inputs are open, or nil: the buttons show.
    @State private var acting: OrderAction?
    @State private var note = ""
    @State private var photos: [String] = []
    @State private var rating: UInt8?
    @State private var volunteer = ""
    @State private var due: Date?
    @State private var showCamera = false
    @State private var error: String?

    var body: some View {
        Form {
            if let d = detail {
                Section {
                    Text(serviceName(model.store?.settings(), d.service)).font(.headline)
                    Text(t(d.stage.labelKey))
                    Text([d.resident, d.address].compactMap { $0 }.joined(separator: " · "))
                    if let phone = d.phone { Text(t("order_phone", phone)) }
                    if !d.note.isEmpty { Text(d.note) }
                    if let v = d.volunteer { Text(t("order_volunteer", v)) }
                    if let due = d.due { Text(t("order_due", due)) }
                    if d.overdueDays > 0 { Text(t("overdue_days", Int(d.overdueDays))).foregroundStyle(.red) }
                    if let r = d.rating { Text(t("order_rating", Int(r))) }
                    Text(t("order_points", Int(d.points)))
                }
                Section(t("order_history")) {
                    ForEach(d.events, id: \.eventId) { e in
                        Text("\(e.at.prefix(16)) \(t("order_action_\(e.action)")) \(e.actor) \(e.note)")
                            .strikethrough(!e.applied)
                    }
                }
                if let action = acting {
                    inputs(for: action)
                } else {
                    Section {
                        // Exactly the actions the core allows this user now.
                        ForEach(d.allowedActions, id: \.self) { action in
                            Button(t(action.labelKey)) { start(action) }
                        }
                    }
                }
            }
            if let error { Text(error).foregroundStyle(.red) }
        }
        .navigationTitle(t("tab_orders"))
        .sheet(isPresented: $showCamera) { CameraPicker { jpeg in Task { await addPhoto(jpeg) } } }
        .task { await load() }
    }

    @ViewBuilder private func inputs(for action: OrderAction) -> some View {
        Section(t(action.labelKey)) {
            if action == .evaluate {
                Picker(t("order_rate"), selection: $rating) {
                    ForEach(1...5, id: \.self) { stars in Text(String(repeating: "★", count: stars)).tag(Optional(UInt8(stars))) }
                }
                .pickerStyle(.segmented)
            }
            if action == .dispatch {
                TextField(t("order_volunteer_input"), text: $volunteer)
                DueDayPicker(day: $due)
            }
            TextField(t("order_act_note"), text: $note, axis: .vertical)
            if action == .done || action == .comment {
                Button(t("take_photo") + " (\(photos.count))") { showCamera = true }
            }
            Button(t(action.labelKey)) { Task { await act(action) } }
                .disabled((action == .evaluate && rating == nil) || (action == .dispatch && volunteer.trimmingCharacters(in: .whitespaces).isEmpty))
            Button(t("back")) { acting = nil; error = nil }
        }
    }

    private func start(_ action: OrderAction) {
        acting = action; note = ""; photos = []; rating = nil; volunteer = ""; due = nil; error = nil
    }

    private func load() async {
        switch await model.run({ [orderId] in try $0.orderDetail(orderId: orderId) }) {
        case let .success(d): detail = d; error = nil
        case let .failure(e): error = message(for: e)
        }
    }

    private func addPhoto(_ jpeg: Data) async {
        switch await model.run({ try $0.addPhoto(bytes: jpeg) }) {
        case let .success(hash): if !photos.contains(hash) { photos.append(hash) }
        case let .failure(e): error = message(for: e)
        }
    }

    /// Sends only what the action takes; the core checks the values (rating range, due date, note length).
    private func act(_ action: OrderAction) async {
        let v = volunteer.trimmingCharacters(in: .whitespaces)
        let input = OrderAct(action: action, note: note.trimmingCharacters(in: .whitespacesAndNewlines),
                             volunteer: action == .dispatch && !v.isEmpty ? v : nil,
                             due: action == .dispatch ? due.map(dayText) : nil,
                             rating: action == .evaluate ? rating : nil,
                             photos: action == .done || action == .comment ? photos : [])
        switch await model.run({ [orderId] in try $0.orderAct(orderId: orderId, act: input) }) {
        case let .success(after): detail = after; acting = nil; error = nil
        case let .failure(e): error = message(for: e)
        }
    }
}

/// "Order a service for this household" (为该户点单): service from the catalogue, resident, note, due.
struct OrderRequestView: View {
    let householdCode: String
    @EnvironmentObject var model: AppModel
    @State private var residents: [String] = []
    @State private var service: String?
    /// The resident served, or nil: the household as a whole.
    @State private var resident: String?
    @State private var note = ""
    @State private var due: Date?
    @State private var requested: String?
    @State private var showRequested = false
    @State private var status: String?

    var body: some View {
        Form {
            Picker(t("order_service"), selection: $service) {
                ForEach(model.store?.settings().serviceCatalogue ?? [], id: \.code) { s in
                    Text(serviceName(model.store?.settings(), s.code)).tag(Optional(s.code))
                }
            }
            Picker(t("order_resident"), selection: $resident) {
                ForEach(residents, id: \.self) { Text($0).tag(Optional($0)) }
                Text(t("order_whole_household")).tag(String?.none)
            }
            TextField(t("order_note"), text: $note, axis: .vertical)
            DueDayPicker(day: $due)
            Button(t("order_action_request")) { Task { await request() } }.disabled(service == nil)
            if let status { Text(status) }
        }
        .navigationTitle(t("order_request"))
        .navigationDestination(isPresented: $showRequested) { if let requested { OrderDetailView(orderId: requested) } }
        .task { await load() }
    }

    private func load() async {
        switch await model.run({ [householdCode] in try $0.householdDetail(householdCode: householdCode) }) {
        case let .success(d):
            residents = d.residents.filter { !$0.movedOut }.map(\.name)
            resident = residents.first
        case let .failure(e): status = message(for: e)
        }
    }

    private func request() async {
        guard let service else { return }
        let input = NewServiceOrder(householdCode: householdCode, resident: resident, service: service,
                                    note: note.trimmingCharacters(in: .whitespacesAndNewlines),
                                    due: due.map(dayText), fromVisit: nil)
        switch await model.run({ try $0.requestService(order: input) }) {
        case let .success(fields): status = t("saved"); requested = fields.orderId; showRequested = true
        case let .failure(e): status = message(for: e)
        }
    }
}
