import Foundation

/// The transarterial treatments the rules weigh.
public enum Treatment: String, Sendable, CaseIterable, Codable {
    case tae = "TAE", ctace = "cTACE", debtace = "DEB-TACE", sirt = "SIRT"
}

/// Conclusion levels. Precedence (documented in the rules file and README): contraindicated
/// beats not_recommended beats consider beats preferred; `insufficient_information` is given only
/// when no rule reached a conclusion for a treatment and some rule lacked a fact.
public enum Level: String, Sendable, Codable, CaseIterable {
    case preferred, consider
    case notRecommended = "not_recommended"
    case contraindicated
    case insufficientInformation = "insufficient_information"

    var precedence: Int {
        switch self {
        case .insufficientInformation: return 0
        case .preferred: return 1
        case .consider: return 2
        case .notRecommended: return 3
        case .contraindicated: return 4
        }
    }
}

/// A condition over facts, evaluated in three-valued logic: a missing fact makes it unknown.
public indirect enum Condition: Sendable, Equatable {
    case always
    case all([Condition])
    case any([Condition])
    case not(Condition)
    case compare(fact: String, op: Op, value: FactValue)
    case member(fact: String, values: [FactValue])

    public enum Op: String, Sendable { case eq, ne, lt, le, gt, ge }

    /// Facts this condition reads.
    public var facts: Set<String> {
        switch self {
        case .always: return []
        case .all(let c), .any(let c): return c.reduce(into: Set<String>()) { $0.formUnion($1.facts) }
        case .not(let c): return c.facts
        case .compare(let f, _, _), .member(let f, _): return [f]
        }
    }

    public enum Truth: Sendable, Equatable {
        case yes, no
        case unknown(Set<String>)
    }

    public func evaluate(_ facts: Facts) -> Truth {
        switch self {
        case .always: return .yes
        case .compare(let key, let op, let value):
            guard let v = facts[key] else { return .unknown([key]) }
            return Self.compare(v, op, value) ? .yes : .no
        case .member(let key, let values):
            guard let v = facts[key] else { return .unknown([key]) }
            return values.contains(v) ? .yes : .no
        case .not(let c):
            switch c.evaluate(facts) {
            case .yes: return .no
            case .no: return .yes
            case .unknown(let m): return .unknown(m)
            }
        case .all(let cs):
            var missing = Set<String>()
            for c in cs {
                switch c.evaluate(facts) {
                case .no: return .no
                case .unknown(let m): missing.formUnion(m)
                case .yes: break
                }
            }
            return missing.isEmpty ? .yes : .unknown(missing)
        case .any(let cs):
            var missing = Set<String>()
            for c in cs {
                switch c.evaluate(facts) {
                case .yes: return .yes
                case .unknown(let m): missing.formUnion(m)
                case .no: break
                }
            }
            return missing.isEmpty ? .no : .unknown(missing)
        }
    }

    static func compare(_ a: FactValue, _ op: Op, _ b: FactValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)):
            switch op {
            case .eq: return x == y
            case .ne: return x != y
            case .lt: return x < y
            case .le: return x <= y
            case .gt: return x > y
            case .ge: return x >= y
            }
        default:
            switch op {
            case .eq: return a == b
            case .ne: return a != b
            default: return false
            }
        }
    }

    /// Human-readable form, for `htb rules explain`.
    public var text: String {
        switch self {
        case .always: return "always"
        case .all(let c): return "(" + c.map(\.text).joined(separator: " and ") + ")"
        case .any(let c): return "(" + c.map(\.text).joined(separator: " or ") + ")"
        case .not(let c): return "not " + c.text
        case .compare(let f, let op, let v):
            let sym = ["eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="][op.rawValue]!
            return "\(f) \(sym) \(v)"
        case .member(let f, let vs): return "\(f) in {\(vs.map(\.description).joined(separator: ", "))}"
        }
    }
}

/// What a rule concludes when its condition holds.
public enum Conclusion: Sendable, Equatable {
    case level(Level, [Treatment])
    case flag(String)
    /// A note for the tumour board; `kind` groups them ("caution", "combination", "evidence", ...).
    case note(kind: String)
}

public struct Rule: Sendable, Equatable {
    public var id: String
    public var when: Condition
    public var then: Conclusion
    public var text: String
    public var citations: [String]
}

public enum RulesError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case invalid(file: String, rule: String?, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let f, let r): return "\(f): cannot read rules: \(r)"
        case .invalid(let f, let r, let why): return "\(f): " + (r.map { "rule '\($0)': " } ?? "") + why
        }
    }
}

/// A versioned rule set with its reference list.
public struct RuleSet: Sendable {
    public var version: String
    public var precedence: String
    public var references: [String: String]
    public var rules: [Rule]
    public var source: String

    /// The rules shipped with htb (Sources/Guidelines/Resources/rules.json).
    public static func builtIn() throws -> RuleSet {
        guard let url = Bundle.module.url(forResource: "rules", withExtension: "json") else {
            throw RulesError.unreadable(
                file: "rules.json", reason: "the built-in rules file is missing from the bundle")
        }
        return try load(url.path)
    }

    public static func load(_ path: String) throws -> RuleSet {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw RulesError.unreadable(file: path, reason: error.localizedDescription)
        }
        return try parse(data, file: path)
    }

    /// Parses and validates: known facts and values, known treatments and levels, citations that
    /// resolve to the reference list, unique ids.
    public static func parse(_ data: Data, file: String) throws -> RuleSet {
        let root: JSONValue
        do { root = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw RulesError.unreadable(file: file, reason: "not valid JSON (\(error))")
        }
        guard case .object(let top) = root else {
            throw RulesError.invalid(file: file, rule: nil, reason: "the top level must be an object")
        }
        guard case .string(let version)? = top["version"] else {
            throw RulesError.invalid(file: file, rule: nil, reason: "missing \"version\"")
        }
        var references: [String: String] = [:]
        if case .object(let refs)? = top["references"] {
            for (k, v) in refs {
                guard case .string(let s) = v else {
                    throw RulesError.invalid(file: file, rule: nil, reason: "reference \(k) must be a string")
                }
                references[k] = s
            }
        }
        guard case .array(let list)? = top["rules"] else {
            throw RulesError.invalid(file: file, rule: nil, reason: "missing \"rules\" array")
        }
        var rules: [Rule] = []
        var ids = Set<String>()
        for item in list {
            guard case .object(let r) = item, case .string(let id)? = r["id"] else {
                throw RulesError.invalid(file: file, rule: nil, reason: "every rule needs an \"id\"")
            }
            func fail(_ why: String) -> RulesError { .invalid(file: file, rule: id, reason: why) }
            guard ids.insert(id).inserted else { throw fail("duplicate id") }
            let unknownKeys = Set(r.keys).subtracting(["id", "when", "then", "text", "citations"])
            guard unknownKeys.isEmpty else {
                throw fail("unknown key(s) \(unknownKeys.sorted().joined(separator: ", "))")
            }
            guard let w = r["when"] else { throw fail("missing \"when\"") }
            let condition = try parseCondition(w, fail: fail)
            guard case .object(let then)? = r["then"] else { throw fail("missing \"then\" object") }
            let conclusion: Conclusion
            if case .string(let lv)? = then["level"] {
                guard let level = Level(rawValue: lv), level != .insufficientInformation else {
                    throw fail("level '\(lv)' is not one of preferred, consider, not_recommended, contraindicated")
                }
                guard case .array(let ts)? = then["treatments"], !ts.isEmpty else {
                    throw fail("a level needs \"treatments\"")
                }
                let treatments = try ts.map { t -> Treatment in
                    guard case .string(let s) = t, let tr = Treatment(rawValue: s) else {
                        throw fail(
                            "treatment \(t) is not one of \(Treatment.allCases.map(\.rawValue).joined(separator: ", "))"
                        )
                    }
                    return tr
                }
                conclusion = .level(level, treatments)
            } else if case .string(let flag)? = then["flag"] {
                conclusion = .flag(flag)
            } else if case .string(let kind)? = then["note"] {
                conclusion = .note(kind: kind)
            } else {
                throw fail("\"then\" needs \"level\" + \"treatments\", \"flag\" or \"note\"")
            }
            guard case .string(let text)? = r["text"], !text.isEmpty else { throw fail("missing \"text\"") }
            guard case .array(let cs)? = r["citations"], !cs.isEmpty else {
                throw fail("every rule cites at least one reference")
            }
            let citations = try cs.map { c -> String in
                guard case .string(let s) = c else { throw fail("citation \(c) must be a string") }
                guard references[s] != nil else { throw fail("citation [\(s)] is not in the reference list") }
                return s
            }
            rules.append(Rule(id: id, when: condition, then: conclusion, text: text, citations: citations))
        }
        let precedence: String
        if case .string(let p)? = top["precedence"] {
            precedence = p
        } else {
            precedence = "contraindicated > not_recommended > consider > preferred"
        }
        return RuleSet(version: version, precedence: precedence, references: references, rules: rules, source: file)
    }

    static func parseCondition(_ v: JSONValue, fail: (String) -> RulesError) throws -> Condition {
        guard case .object(let o) = v else { throw fail("a condition must be an object") }
        if case .bool(true)? = o["always"] { return .always }
        if case .array(let cs)? = o["all"] { return .all(try cs.map { try parseCondition($0, fail: fail) }) }
        if case .array(let cs)? = o["any"] { return .any(try cs.map { try parseCondition($0, fail: fail) }) }
        if let c = o["not"] { return .not(try parseCondition(c, fail: fail)) }
        guard case .string(let key)? = o["fact"] else {
            throw fail("a condition needs \"fact\", \"all\", \"any\", \"not\" or \"always\"")
        }
        guard let def = Facts.definition(key) else { throw fail("unknown fact '\(key)'") }
        func value(_ j: JSONValue) throws -> FactValue {
            switch (def.kind, j) {
            case (.bool, .bool(let b)): return .bool(b)
            case (.number, .number(let n)), (.integer, .number(let n)): return .number(n)
            case (.choice(let options), .string(let s)):
                guard options.contains(s) else {
                    throw fail("'\(s)' is not a value of \(key) (\(options.joined(separator: ", ")))")
                }
                return .text(s)
            default: throw fail("\(j) does not fit fact \(key)")
            }
        }
        if case .array(let vs)? = o["in"] { return .member(fact: key, values: try vs.map(value)) }
        for op in ["eq", "ne", "lt", "le", "gt", "ge"] {
            if let j = o[op] { return .compare(fact: key, op: Condition.Op(rawValue: op)!, value: try value(j)) }
        }
        if let j = o["is"] { return .compare(fact: key, op: .eq, value: try value(j)) }
        throw fail("condition on \(key) needs one of in, is, eq, ne, lt, le, gt, ge")
    }
}
