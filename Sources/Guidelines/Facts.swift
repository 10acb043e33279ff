import Foundation

/// A fact's value.
public enum FactValue: Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    case bool(Bool)
    case text(String)

    public var description: String {
        switch self {
        case .number(let v): return v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
        case .bool(let b): return b ? "true" : "false"
        case .text(let s): return s
        }
    }
}

/// What a fact may hold.
public enum FactKind: Sendable, Equatable {
    case number(range: ClosedRange<Double>, unit: String)
    case integer(range: ClosedRange<Int>)
    case bool
    case choice([String])
}

public struct FactDefinition: Sendable {
    public var key: String
    public var kind: FactKind
    public var meaning: String
}

public enum FactsError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case notAnObject(file: String)
    case unknownKey(file: String, key: String, suggestion: String?)
    case wrongType(file: String, key: String, value: String, expected: String)
    case outOfRange(file: String, key: String, value: String, expected: String)
    case conflicting(file: String, keys: [String], reason: String)

    public var description: String {
        switch self {
        case .unreadable(let f, let r): return "\(f): cannot read clinical facts: \(r)"
        case .notAnObject(let f): return "\(f): clinical facts must be a JSON object of key: value"
        case .unknownKey(let f, let k, let s):
            return "\(f): unknown fact '\(k)'" + (s.map { "; did you mean '\($0)'?" } ?? "")
                + " (htb rules facts lists them)"
        case .wrongType(let f, let k, let v, let e): return "\(f): '\(k)' is \(v), expected \(e)"
        case .outOfRange(let f, let k, let v, let e): return "\(f): '\(k)' = \(v) is out of range: expected \(e)"
        case .conflicting(let f, let k, let r): return "\(f): \(k.joined(separator: " and ")) disagree: \(r)"
        }
    }
}

/// Validated clinical facts and imaging figures. Every fact is optional; a rule that needs an
/// absent fact says so ("needs: ...") instead of guessing.
public struct Facts: Sendable, Equatable {
    public private(set) var values: [String: FactValue] = [:]

    public init() {}

    public subscript(key: String) -> FactValue? { values[key] }

    public mutating func set(_ key: String, _ value: FactValue) { values[key] = value }

    /// Every fact htb knows, with its type, range and unit (snake_case keys; the unit is in the name).
    public static let definitions: [FactDefinition] = [
        .init(
            key: "grade", kind: .choice(["G1", "G2", "G3", "NEC"]),
            meaning: "WHO 2022 grade: NET G1, G2, G3 or poorly differentiated NEC"),
        .init(key: "ki67_percent", kind: .number(range: 0...100, unit: "%"), meaning: "Ki-67 proliferation index"),
        .init(
            key: "primary_site",
            kind: .choice([
                "pancreas", "small_intestine", "stomach", "duodenum", "colon", "rectum", "appendix", "lung", "unknown",
                "other",
            ]), meaning: "primary tumour site"),
        .init(
            key: "portal_vein_thrombosis", kind: .choice(["none", "branch", "main"]), meaning: "portal vein thrombosis"),
        .init(key: "bilioenteric_anastomosis", kind: .bool, meaning: "prior bilioenteric anastomosis (e.g. Whipple)"),
        .init(key: "biliary_stent", kind: .bool, meaning: "biliary stent in place"),
        .init(key: "sphincterotomy", kind: .bool, meaning: "prior endoscopic sphincterotomy"),
        .init(key: "hepatic_insufficiency", kind: .bool, meaning: "hepatic insufficiency (clinical judgement)"),
        .init(
            key: "bilirubin_mg_dl", kind: .number(range: 0...50, unit: "mg/dL"),
            meaning: "total serum bilirubin (or bilirubin_umol_l)"),
        .init(
            key: "albumin_g_dl", kind: .number(range: 0.5...7, unit: "g/dL"), meaning: "serum albumin (or albumin_g_l)"),
        .init(
            key: "child_pugh_class", kind: .choice(["A", "B", "C"]), meaning: "Child-Pugh class (or child_pugh_score)"),
        .init(key: "child_pugh_score", kind: .integer(range: 5...15), meaning: "Child-Pugh score 5-15"),
        .init(key: "renal_insufficiency", kind: .bool, meaning: "renal insufficiency (clinical judgement)"),
        .init(
            key: "egfr_ml_min", kind: .number(range: 0...200, unit: "mL/min/1.73 m2"),
            meaning: "estimated glomerular filtration rate"),
        .init(
            key: "creatinine_mg_dl", kind: .number(range: 0.1...20, unit: "mg/dL"),
            meaning: "serum creatinine (or creatinine_umol_l)"),
        .init(key: "ecog", kind: .integer(range: 0...4), meaning: "ECOG performance status"),
        .init(key: "extrahepatic_disease", kind: .bool, meaning: "extrahepatic metastases"),
        .init(
            key: "hormonal_syndrome", kind: .bool, meaning: "hormonal (functional) syndrome, e.g. carcinoid syndrome"),
        .init(key: "symptoms", kind: .bool, meaning: "symptoms from the liver disease"),
        .init(
            key: "progression_on_ssa", kind: .bool,
            meaning: "progression despite somatostatin analogues or other systemic therapy"),
        .init(key: "prior_prrt", kind: .bool, meaning: "prior peptide receptor radionuclide therapy (Lu-177)"),
        .init(
            key: "expected_survival_years", kind: .number(range: 0...50, unit: "years"), meaning: "expected survival"),
        .init(key: "hypovascular", kind: .bool, meaning: "metastases hypovascular on arterial phase"),
        .init(
            key: "lung_shunt_fraction_percent", kind: .number(range: 0...100, unit: "%"),
            meaning: "lung shunt fraction from MAA (or Ho-166 scout) scintigraphy"),
        .init(
            key: "tumor_to_normal_ratio", kind: .number(range: 0.1...50, unit: "ratio"),
            meaning: "tumour-to-normal-liver uptake ratio (T/N) from MAA SPECT/CT"),
        .init(
            key: "microsphere", kind: .choice(["y90_glass", "y90_resin", "ho166"]), meaning: "microsphere type for SIRT"
        ),
        .init(
            key: "prior_lung_dose_gy", kind: .number(range: 0...200, unit: "Gy"),
            meaning: "lung dose from earlier radioembolization sessions"),
        .init(key: "height_cm", kind: .number(range: 50...250, unit: "cm"), meaning: "body height"),
        .init(key: "weight_kg", kind: .number(range: 20...300, unit: "kg"), meaning: "body weight"),
        .init(
            key: "sirt_target_tumor_dose_gy", kind: .number(range: 1...1000, unit: "Gy"),
            meaning: "SIRT target tumour absorbed dose (default 150 Gy)"),
        .init(
            key: "sirt_target_normal_liver_dose_gy", kind: .number(range: 1...200, unit: "Gy"),
            meaning: "SIRT target normal-liver dose (instead of a tumour dose)"),
        .init(
            key: "lung_mass_kg", kind: .number(range: 0.3...3, unit: "kg"),
            meaning: "lung mass for the lung dose (default 1 kg)"),
        .init(
            key: "liver_density_g_ml", kind: .number(range: 0.8...1.3, unit: "g/mL"),
            meaning: "liver and tumour density for masses (default 1.03)"),
        // Imaging figures (from htb's report, or measured elsewhere for `htb rules evaluate`).
        .init(key: "htb_percent", kind: .number(range: 0...100, unit: "%"), meaning: "hepatic tumour burden"),
        .init(key: "lesion_count", kind: .integer(range: 0...100_000), meaning: "number of liver lesions"),
        .init(
            key: "liver_volume_ml", kind: .number(range: 1...20_000, unit: "mL"),
            meaning: "whole-liver volume (lesions included)"),
        .init(key: "lesion_volume_ml", kind: .number(range: 0...20_000, unit: "mL"), meaning: "total lesion volume"),
        .init(
            key: "largest_lesion_mm", kind: .number(range: 0...500, unit: "mm"),
            meaning: "longest axial diameter of the largest lesion"),
        .init(key: "enets_type", kind: .choice(["I", "II", "III"]), meaning: "ENETS distribution type"),
        // Computed by htb's dosimetry before the rules run (never given).
        .init(
            key: "lung_dose_gy", kind: .number(range: 0...10_000, unit: "Gy"),
            meaning: "computed lung dose of the planned SIRT session"),
        .init(
            key: "cumulative_lung_dose_gy", kind: .number(range: 0...10_000, unit: "Gy"),
            meaning: "computed cumulative lung dose"),
    ]

    /// Other names accepted on input, converted to the canonical key and unit.
    static let aliases: [String: (key: String, factor: Double)] = [
        "bilirubin_umol_l": ("bilirubin_mg_dl", 1 / 17.104),  // 1 mg/dL bilirubin = 17.104 umol/L
        "creatinine_umol_l": ("creatinine_mg_dl", 1 / 88.42),  // 1 mg/dL creatinine = 88.42 umol/L
        "albumin_g_l": ("albumin_g_dl", 0.1),
    ]

    public static let computedKeys: Set<String> = ["lung_dose_gy", "cumulative_lung_dose_gy"]

    public static func definition(_ key: String) -> FactDefinition? { definitions.first { $0.key == key } }

    /// Reads and validates a JSON object of facts. `file` names the source in errors.
    public static func parse(json data: Data, file: String) throws -> Facts {
        let object: JSONValue
        do { object = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw FactsError.unreadable(file: file, reason: "not valid JSON (\(error))")
        }
        guard case .object(let dict) = object else { throw FactsError.notAnObject(file: file) }
        var facts = Facts()
        for key in dict.keys.sorted() {
            let raw = dict[key]!
            if raw == .null { continue }  // null = unknown
            var canonical = key, factor = 1.0
            if let alias = aliases[key] {
                canonical = alias.key
                factor = alias.factor
            }
            guard let def = definition(canonical), !computedKeys.contains(canonical) else {
                throw FactsError.unknownKey(file: file, key: key, suggestion: suggestion(for: key))
            }
            let value = try validate(raw, key: key, definition: def, factor: factor, file: file)
            if let existing = facts.values[canonical], existing != value {
                throw FactsError.conflicting(
                    file: file, keys: [key, canonical],
                    reason: "both given with different values (\(existing) vs \(value))")
            }
            facts.values[canonical] = value
        }
        // Child-Pugh score and class must agree when both are given (A 5-6, B 7-9, C 10-15).
        if case .number(let s)? = facts.values["child_pugh_score"],
            case .text(let c)? = facts.values["child_pugh_class"]
        {
            let expected = s <= 6 ? "A" : (s <= 9 ? "B" : "C")
            if expected != c {
                throw FactsError.conflicting(
                    file: file, keys: ["child_pugh_score", "child_pugh_class"],
                    reason: "score \(Int(s)) is class \(expected), not \(c)")
            }
        }
        if case .number(let s)? = facts.values["child_pugh_score"], facts.values["child_pugh_class"] == nil {
            facts.values["child_pugh_class"] = .text(s <= 6 ? "A" : (s <= 9 ? "B" : "C"))
        }
        return facts
    }

    static func validate(_ raw: JSONValue, key: String, definition def: FactDefinition, factor: Double, file: String)
        throws -> FactValue
    {
        func shown(_ v: JSONValue) -> String { "\(v)" }
        switch def.kind {
        case .bool:
            guard case .bool(let b) = raw else {
                throw FactsError.wrongType(file: file, key: key, value: shown(raw), expected: "true or false")
            }
            return .bool(b)
        case .choice(let options):
            guard case .string(let s) = raw else {
                throw FactsError.wrongType(
                    file: file, key: key, value: shown(raw), expected: "one of \(options.joined(separator: ", "))")
            }
            guard let match = options.first(where: { $0.lowercased() == s.lowercased() }) else {
                throw FactsError.outOfRange(
                    file: file, key: key, value: "\"\(s)\"", expected: "one of \(options.joined(separator: ", "))")
            }
            return .text(match)
        case .number(let range, let unit):
            guard case .number(let n) = raw else {
                let hint: String
                if case .string = raw {
                    hint = " (a bare number in \(unit); the unit is in the key's name)"
                } else {
                    hint = ""
                }
                throw FactsError.wrongType(
                    file: file, key: key, value: shown(raw), expected: "a number in \(unit)\(hint)")
            }
            let v = n * factor
            guard v.isFinite, range.contains(v) else {
                throw FactsError.outOfRange(
                    file: file, key: key, value: shown(raw),
                    expected: "\(range.lowerBound) to \(range.upperBound) \(unit) (wrong unit?)")
            }
            return .number(v)
        case .integer(let range):
            guard case .number(let n) = raw, n == n.rounded(), abs(n) < 1e9 else {
                throw FactsError.wrongType(file: file, key: key, value: shown(raw), expected: "a whole number")
            }
            guard range.contains(Int(n)) else {
                throw FactsError.outOfRange(
                    file: file, key: key, value: shown(raw), expected: "\(range.lowerBound) to \(range.upperBound)")
            }
            return .number(n)
        }
    }

    /// The known key closest to a misspelt one: a key that adds the unit to it ("bilirubin" ->
    /// "bilirubin_mg_dl"), else the nearest by edit distance (<= 3).
    static func suggestion(for key: String) -> String? {
        let candidates = definitions.map(\.key).filter { !computedKeys.contains($0) } + Array(aliases.keys)
        if let withUnit = candidates.filter({ $0.hasPrefix(key.lowercased() + "_") }).sorted().first { return withUnit }
        func distance(_ a: String, _ b: String) -> Int {
            let a = Array(a), b = Array(b)
            var row = Array(0...b.count)
            for i in 1...max(1, a.count) where !a.isEmpty {
                var prev = row[0]
                row[0] = i
                for j in 1...max(1, b.count) where !b.isEmpty {
                    let cur = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                    prev = cur
                }
            }
            return row[b.count]
        }
        let best = candidates.map { ($0, distance(key.lowercased(), $0)) }.min { $0.1 < $1.1 }
        return best.flatMap { $0.1 <= 3 ? $0.0 : nil }
    }
}

/// A JSON value that keeps booleans, numbers and strings apart (JSONSerialization does not, on Linux).
public indirect enum JSONValue: Decodable, Sendable, Equatable, CustomStringConvertible {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.keys.sorted().map { "\"\($0)\": \(o[$0]!)" }.joined(separator: ", ") + "}"
        }
    }
}
