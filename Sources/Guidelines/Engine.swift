import Foundation

/// The `guidelines` block of report.json.
public struct GuidelinesReport: Codable, Sendable {
    public var rulesVersion: String
    public var precedence: String
    public var treatments: [String: TreatmentAssessment]
    /// Flag ids (e.g. `staged_embolization`); `flagDetails` holds each one's rule, text and citations.
    public var flags: [String]
    public var flagDetails: [Item]
    public var notes: [Item]
    public var enets: EnetsResult?
    public var dosimetry: Dosimetry?
    /// Every reference cited above, by number.
    public var references: [String: String]

    public struct Reason: Codable, Sendable, Equatable {
        public var rule: String
        public var level: String
        public var text: String
        public var citations: [String]
    }
    public struct TreatmentAssessment: Codable, Sendable, Equatable {
        public var level: String
        public var reasons: [Reason]
        /// Facts that rules about this treatment needed but did not have ("needs: X").
        public var needs: [String]
    }
    public struct Item: Codable, Sendable, Equatable {
        public var id: String
        public var kind: String?
        public var rule: String
        public var text: String
        public var citations: [String]
    }

    enum CodingKeys: String, CodingKey {
        case rulesVersion = "rules_version", precedence, treatments, flags, flagDetails = "flag_details", notes, enets,
            dosimetry, references
    }

    public func level(_ t: Treatment) -> Level { Level(rawValue: treatments[t.rawValue]!.level)! }
    public var flagIDs: [String] { flags }
}

public enum GuidelineEngine {
    /// The review the rules rest on ([1] in the built-in rules), cited by the default conclusion.
    static func defaultCitation(_ rules: RuleSet) -> String? {
        rules.references["1"] != nil ? "1" : rules.references.keys.sorted().first
    }

    /// Runs the dosimetry the facts allow, then every rule. A level rule that fires adds its
    /// reason to each of its treatments; the treatment's level is the highest in precedence among
    /// them. A rule whose facts are missing records them as the treatment's needs.
    public static func evaluate(_ input: Facts, rules: RuleSet, enets: EnetsResult? = nil) -> GuidelinesReport {
        var facts = input
        if let e = enets, facts["enets_type"] == nil { facts.set("enets_type", .text(e.type)) }
        var dosimetryMissing: [String] = []
        let dosimetry = Dosimetry.compute(facts, missing: &dosimetryMissing)
        if let lung = dosimetry?.lung {
            facts.set("lung_dose_gy", .number(lung.doseGy))
            facts.set("cumulative_lung_dose_gy", .number(lung.cumulativeDoseGy))
        }
        var reasons: [Treatment: [GuidelinesReport.Reason]] = [:]
        var needs: [Treatment: Set<String>] = [:]
        var flags: [GuidelinesReport.Item] = [], notes: [GuidelinesReport.Item] = []
        var cited = Set<String>()
        for rule in rules.rules {
            let truth = rule.when.evaluate(facts)
            switch (truth, rule.then) {
            case (.yes, .level(let level, let treatments)):
                for t in treatments {
                    reasons[t, default: []].append(
                        .init(
                            rule: rule.id, level: level.rawValue, text: rule.text,
                            citations: rule.citations.map { "[\($0)]" }))
                }
                cited.formUnion(rule.citations)
            case (.unknown(let missing), .level(_, let treatments)):
                // Facts htb computes itself are missing only because their inputs are: name those.
                let named = missing.flatMap { Facts.computedKeys.contains($0) ? dosimetryMissing : [$0] }
                for t in treatments { needs[t, default: []].formUnion(named) }
            case (.yes, .flag(let id)):
                flags.append(
                    .init(
                        id: id, kind: nil, rule: rule.id, text: rule.text, citations: rule.citations.map { "[\($0)]" }))
                cited.formUnion(rule.citations)
            case (.yes, .note(let kind)):
                notes.append(
                    .init(
                        id: rule.id, kind: kind, rule: rule.id, text: rule.text,
                        citations: rule.citations.map { "[\($0)]" }))
                cited.formUnion(rule.citations)
            default:
                break
            }
        }
        var treatments: [String: GuidelinesReport.TreatmentAssessment] = [:]
        for t in Treatment.allCases {
            var rs = (reasons[t] ?? []).sorted {
                Level(rawValue: $0.level)!.precedence > Level(rawValue: $1.level)!.precedence
            }
            let missing = (needs[t] ?? []).sorted()
            let level: Level
            if let top = rs.first {
                level = Level(rawValue: top.level)!
            } else if !missing.isEmpty {
                level = .insufficientInformation
            } else {
                // Every rule about it could be decided and none spoke: an option to discuss.
                level = .consider
                rs = [
                    .init(
                        rule: "default.option", level: Level.consider.rawValue,
                        text:
                            "No rule speaks for or against it with these facts: an option to discuss at the tumour board.",
                        citations: [defaultCitation(rules)].compactMap { $0 }.map { "[\($0)]" })
                ]
                if let c = defaultCitation(rules) { cited.insert(c) }
            }
            treatments[t.rawValue] = .init(level: level.rawValue, reasons: rs, needs: missing)
        }
        // Flags may repeat across rules (e.g. two routes to staged embolization): keep the first.
        var seen = Set<String>()
        flags = flags.filter { seen.insert($0.id).inserted }
        return GuidelinesReport(
            rulesVersion: rules.version, precedence: rules.precedence, treatments: treatments, flags: flags.map(\.id),
            flagDetails: flags, notes: notes,
            enets: enets, dosimetry: dosimetry,
            references: rules.references.filter { cited.contains($0.key) })
    }
}
