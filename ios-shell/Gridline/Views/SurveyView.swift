// The residents' yearly survey of the community (双评议, 居民满意度测评) for one household: one answer 1–5 per item
// of the community's configuration, recorded on the door visit. Whether the household was already surveyed
// this year, and whether the answers are acceptable, is the core's to say.
import SwiftUI
import Gridline

/// A survey item's name in the user's language.
func surveyItemName(_ item: CatalogueEntry) -> String {
    Locale.current.language.languageCode?.identifier == "zh" ? item.nameZh : item.nameEn
}

struct SurveyView: View {
    let householdCode: String
    @EnvironmentObject var model: AppModel
    @State private var items: [CatalogueEntry] = []
    /// One answer per item, nil until picked.
    @State private var answers: [UInt8?] = []
    /// The survey that stands for this household this year, if any.
    @State private var done: Survey?
    @State private var status: String?

    var body: some View {
        Form {
            if let done {
                Section {
                    Text(t("survey_done", done.at.prefix(10).description))
                    Text(t("survey_by", done.actor))
                }
            } else {
                ForEach(items.indices, id: \.self) { n in
                    Section(surveyItemName(items[n])) {
                        Picker(surveyItemName(items[n]), selection: $answers[n]) {
                            ForEach(1...5, id: \.self) { score in Text("\(score)").tag(Optional(UInt8(score))) }
                        }
                        .pickerStyle(.segmented)
                    }
                }
                Button(t("survey_record")) { Task { await record() } }
                    .disabled(answers.contains(where: { $0 == nil }) || items.isEmpty)
            }
            if let status { Text(status) }
        }
        .navigationTitle(t("survey_title"))
        .task { await load() }
    }

    private func thisYear() -> UInt32 {
        UInt32(Calendar(identifier: .gregorian).component(.year, from: Date()))
    }

    private func load() async {
        let year = thisYear()
        switch await model.run({ [householdCode] in
            ($0.settings().surveyItems, try $0.householdSurvey(householdCode: householdCode, year: year))
        }) {
        case let .success((list, standing)):
            items = list
            answers = Array(repeating: nil, count: list.count)
            done = standing
        case let .failure(e): status = message(for: e)
        }
    }

    private func record() async {
        let picked = answers.compactMap { $0 }
        guard picked.count == items.count else { return }
        // Answers cross the FFI as bytes (one per item, 1–5).
        let input = NewSurvey(householdCode: householdCode, answers: Data(picked), visitId: nil)
        switch await model.run({ try $0.surveyRecord(survey: input) }) {
        case let .success(survey): done = survey; status = t("saved")
        case let .failure(e): status = message(for: e)
        }
    }
}
