import Foundation
import Guidelines
import Testing

/// What the validator needs of Guidelines' JSON value (booleans, numbers and strings kept apart).
/// As JSON Schema 2020-12 has it, a number with no fractional part is an integer.
extension JSONValue {
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let n): n == n.rounded() ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    var number: Double? {
        if case .number(let n) = self { return n }
        return nil
    }
}

/// A JSON Schema (draft 2020-12) validator for the subset docs/schema uses: `$ref` (within a
/// file, or to another file of docs/schema), `type`, `properties`, `required`,
/// `additionalProperties`, `items`, `minItems`, `maxItems`, `enum`, `const`, `minimum`,
/// `maximum`; `$schema`, `$id`, `$defs`, `title` and `description` are annotations. Any other
/// keyword is an error, so a schema cannot rely on a keyword this validator would skip.
/// (With Python's `jsonschema` installed, `SchemaTests` checks the same documents with it too.)
struct JSONSchemaValidator {
    static let directory = Paths.packageRoot + "/docs/schema"
    static let supported: Set<String> = [
        "$schema", "$id", "$defs", "title", "description", "$ref", "type", "properties", "required",
        "additionalProperties", "items", "minItems", "maxItems", "enum", "const", "minimum", "maximum",
    ]

    /// The schema files, by file name, parsed once.
    nonisolated(unsafe) static var files: [String: JSONValue] = [:]
    static let lock = NSLock()

    static func schema(_ file: String) throws -> JSONValue {
        lock.lock()
        defer { lock.unlock() }
        if let s = files[file] { return s }
        let s = try JSONDecoder().decode(
            JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/" + file)))
        files[file] = s
        return s
    }

    /// Violations of `file`'s schema by `document` (empty: it conforms), each with its JSON path.
    static func violations(of document: JSONValue, against file: String) throws -> [String] {
        var out: [String] = []
        try check(document, try schema(file), file: file, path: "$", into: &out)
        return out
    }

    /// Violations of `file`'s schema by the JSON text `data`.
    static func violations(ofJSON data: Data, against file: String) throws -> [String] {
        try violations(of: try JSONDecoder().decode(JSONValue.self, from: data), against: file)
    }

    private static func resolve(_ ref: String, from file: String) throws -> (JSONValue, String) {
        let parts = ref.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let target = parts[0].isEmpty ? file : parts[0]
        var node = try schema(target)
        for key in (parts.count > 1 ? parts[1] : "").split(separator: "/").map(String.init) {
            guard case .object(let d) = node, let next = d[key] else { throw SchemaError.badReference(ref, file) }
            node = next
        }
        return (node, target)
    }

    private static func check(
        _ v: JSONValue, _ schemaNode: JSONValue, file: String, path: String, into out: inout [String]
    ) throws {
        if case .bool(let b) = schemaNode {
            if !b { out.append("\(path): not allowed") }
            return
        }
        guard case .object(let s) = schemaNode else { throw SchemaError.notASchema(path, file) }
        for k in s.keys where !supported.contains(k) { throw SchemaError.unsupportedKeyword(k, file) }
        if case .string(let ref)? = s["$ref"] {
            let (target, targetFile) = try resolve(ref, from: file)
            try check(v, target, file: targetFile, path: path, into: &out)
        }
        if case .string(let t)? = s["type"], !(t == v.typeName || (t == "number" && v.typeName == "integer")) {
            out.append("\(path): \(v.typeName), expected \(t)")
            return
        }
        if case .array(let e)? = s["enum"], !e.contains(v) { out.append("\(path): \(v) is not one of \(e)") }
        if let c = s["const"], c != v { out.append("\(path): \(v), expected \(c)") }
        if let n = v.number {
            if let lo = s["minimum"]?.number, n < lo { out.append("\(path): \(n) < \(lo)") }
            if let hi = s["maximum"]?.number, n > hi { out.append("\(path): \(n) > \(hi)") }
        }
        if case .array(let a) = v {
            if let lo = s["minItems"]?.number, Double(a.count) < lo {
                out.append("\(path): \(a.count) items, at least \(Int(lo)) expected")
            }
            if let hi = s["maxItems"]?.number, Double(a.count) > hi {
                out.append("\(path): \(a.count) items, at most \(Int(hi)) expected")
            }
            if let items = s["items"] {
                for (i, x) in a.enumerated() { try check(x, items, file: file, path: "\(path)[\(i)]", into: &out) }
            }
        }
        if case .object(let o) = v {
            var props: [String: JSONValue] = [:]
            if case .object(let p)? = s["properties"] { props = p }
            if case .array(let required)? = s["required"] {
                for case .string(let r) in required where o[r] == nil { out.append("\(path): \(r) missing") }
            }
            for (k, x) in o.sorted(by: { $0.key < $1.key }) {
                if let p = props[k] {
                    try check(x, p, file: file, path: "\(path).\(k)", into: &out)
                } else if let extra = s["additionalProperties"] {
                    try check(x, extra, file: file, path: "\(path).\(k)", into: &out)
                }
            }
        }
    }

    enum SchemaError: Error, CustomStringConvertible {
        case unsupportedKeyword(String, String), badReference(String, String), notASchema(String, String)
        var description: String {
            switch self {
            case .unsupportedKeyword(let k, let f): return "\(f): keyword \(k) is not supported by the tests' validator"
            case .badReference(let r, let f): return "\(f): $ref \(r) does not resolve"
            case .notASchema(let p, let f): return "\(f): not a schema at \(p)"
            }
        }
    }
}

/// The schema of what a CLI run wrote, checked after every `runHTB` call of the tests: the report
/// in `--out` (analyze), results.jsonl and each study's report (batch), and the JSON printed by
/// `info --json`, `qa --json` and `rules evaluate --json`. A violation is recorded as a test
/// issue of the test that ran the command.
enum OutputSchemas {
    static func check(_ arguments: [String], _ result: RunResult) {
        guard result.status == 0 || result.status == 80 || result.status == 82, let command = arguments.first else {
            return
        }
        func value(_ option: String) -> String? {
            arguments.firstIndex(of: option).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
        }
        let printsJSON = arguments.contains("--json")
        var checks: [(label: String, data: Data, schema: String)] = []
        switch command {
        case "analyze":
            if printsJSON, !result.stdout.isEmpty {
                checks.append(("analyze --json", Data(result.stdout.utf8), "report.schema.json"))
            }
            if let out = value("--out"), let d = FileManager.default.contents(atPath: out + "/report.json") {
                checks.append((out + "/report.json", d, "report.schema.json"))
            }
        case "batch":
            guard let out = value("--out") else { return }
            if let d = FileManager.default.contents(atPath: out + "/results.jsonl") {
                for (n, line) in String(decoding: d, as: UTF8.self).split(separator: "\n").enumerated() {
                    checks.append(("\(out)/results.jsonl line \(n + 1)", Data(line.utf8), "batch-result.schema.json"))
                }
            }
            let folders = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            for f in folders.sorted() {
                if let d = FileManager.default.contents(atPath: "\(out)/\(f)/report.json") {
                    checks.append(("\(out)/\(f)/report.json", d, "report.schema.json"))
                }
            }
        case "info" where printsJSON: checks.append(("info --json", Data(result.stdout.utf8), "info.schema.json"))
        case "qa" where printsJSON && arguments.contains("--comparison"):
            checks.append(("qa --comparison --json", Data(result.stdout.utf8), "comparison-qa.schema.json"))
        case "qa" where printsJSON: checks.append(("qa --json", Data(result.stdout.utf8), "qa.schema.json"))
        case "rules" where printsJSON && arguments.dropFirst().first == "evaluate":
            checks.append(("rules evaluate --json", Data(result.stdout.utf8), "rules-evaluation.schema.json"))
        case "compare":
            if printsJSON, !result.stdout.isEmpty {
                checks.append(("compare --json", Data(result.stdout.utf8), "compare.schema.json"))
            }
            let out = value("--out") ?? "compare"
            if let d = FileManager.default.contents(atPath: out + "/compare.json") {
                checks.append((out + "/compare.json", d, "compare.schema.json"))
            }
        case "synth":
            if let out = value("--out"), let d = FileManager.default.contents(atPath: out + "/truth.json") {
                checks.append((out + "/truth.json", d, "phantom-truth.schema.json"))
            }
        case "serve" where printsJSON:
            // --status --json: an array of study records.
            let items = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [Any] ?? []
            for (n, item) in items.enumerated() {
                if let d = try? JSONSerialization.data(withJSONObject: item) {
                    checks.append(("serve --status --json item \(n)", d, "node-study.schema.json"))
                }
            }
        default: return
        }
        for c in checks {
            do {
                let v = try JSONSchemaValidator.violations(ofJSON: c.data, against: c.schema)
                if !v.isEmpty {
                    Issue.record(
                        "\(c.label) does not conform to docs/schema/\(c.schema): \(v.prefix(5).joined(separator: "; "))"
                    )
                }
            } catch {
                Issue.record("\(c.label): cannot check against docs/schema/\(c.schema): \(error)")
            }
        }
    }
}
