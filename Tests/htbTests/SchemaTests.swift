import Analysis
import Foundation
import Guidelines
import Node
import Testing

/// The JSON Schemas in docs/schema against what htb writes, and against the README. Every CLI run
/// of the tests is checked too (`OutputSchemas`, called by `runHTB`).
@Suite("JSON Schemas of htb's outputs")
struct SchemaTests {
    static let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-low"
    static let schemaFiles = [
        "report.schema.json", "info.schema.json", "qa.schema.json", "batch-result.schema.json",
        "rules-evaluation.schema.json", "phantom-truth.schema.json", "compare.schema.json",
        "comparison-qa.schema.json", "node-study.schema.json", "node-event.schema.json",
    ]

    static func decode(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test(
        "reports made in process (expert masks with clinical facts, automatic, tumour-dominated) conform to report.schema.json"
    )
    func reportsConform() throws {
        let dir = Paths.temporaryDirectory()
        let facts = """
            {"grade": "G2", "ki67_percent": 8, "primary_site": "small_intestine", "portal_vein_thrombosis": "none", "bilirubin_mg_dl": 0.8,
             "albumin_g_dl": 4.0, "egfr_ml_min": 90, "ecog": 1, "lung_shunt_fraction_percent": 6, "tumor_to_normal_ratio": 3,
             "microsphere": "y90_glass", "height_cm": 175, "weight_kg": 80}
            """
        try facts.write(toFile: dir + "/facts.json", atomically: true, encoding: .utf8)
        let cases: [(String, [String])] = [
            (
                "expert masks, clinical facts",
                [
                    Self.sample, "--liver-mask", Self.sample + "/truth/seg.dcm:Liver", "--lesion-mask",
                    Self.sample + "/truth/seg.dcm:Lesion*",
                    "--clinical", dir + "/facts.json", "--save-masks",
                ]
            ),
            ("automatic", [Self.sample]),
            ("automatic, tumour-dominated", [Paths.packageRoot + "/SampleStudies/phantom-htb-high", "--single-phase"]),
        ]
        for (n, (label, args)) in cases.enumerated() {
            let out = dir + "/out\(n)"
            let r = try runHTB(["analyze"] + args + ["--out", out, "--no-png"])
            #expect(r.status == 0, "\(label): \(r.stderr)")
            let report = try #require(FileManager.default.contents(atPath: out + "/report.json"), "\(label)")
            let v = try JSONSchemaValidator.violations(ofJSON: report, against: "report.schema.json")
            #expect(v.isEmpty, "\(label): \(v)")
            let keys = try Self.decode(String(decoding: report, as: UTF8.self))
            if case .object(let o) = keys {
                #expect((o["automatic"] != nil) == (n > 0), "\(label)")
                if n == 0, case .object(let g)? = o["guidelines"] {
                    #expect(g["dosimetry"] != nil && g["enets"] != nil, "\(label)")
                }
            }
        }
    }

    @Test(
        "the validator finds what does not conform: an unknown key, a missing key, a wrong type, a value outside an enum"
    )
    func validatorCatches() throws {
        let r = try Analysis.run(
            .init(
                studyPath: Self.sample, liverMasks: [MaskSpec(Self.sample + "/truth/seg.dcm:Liver")],
                lesionMasks: [MaskSpec(Self.sample + "/truth/seg.dcm:Lesion*")]))
        let good = String(decoding: try r.report.json(), as: UTF8.self)
        #expect(try JSONSchemaValidator.violations(ofJSON: Data(good.utf8), against: "report.schema.json").isEmpty)
        let bad: [(String, String, String)] = [
            ("\"schema\" : \"htb.report/1\",", "\"schema\" : \"htb.report/1\", \"surprise\" : 1,", "surprise"),
            ("\"htb\" : {", "\"htb_gone\" : {", "htb missing"),
            ("\"voxel_count\" : 40757", "\"voxel_count\" : \"40757\"", "expected integer"),
            ("\"category\" : \"below_50\"", "\"category\" : \"low\"", "is not one of"),
        ]
        for (from, to, expected) in bad {
            #expect(good.contains(from), "\(from)")
            let v = try JSONSchemaValidator.violations(
                ofJSON: Data(good.replacingOccurrences(of: from, with: to).utf8), against: "report.schema.json")
            #expect(v.contains { $0.contains(expected) }, "\(to): \(v)")
        }
    }

    @Test("README's report table names every key of report.schema.json, and nothing the schema lacks at the top level")
    func readmeAgrees() throws {
        let readme = try String(contentsOfFile: Paths.packageRoot + "/README.md", encoding: .utf8)
        guard let start = readme.range(of: "## Report schema (`htb.report/1`)") else {
            Issue.record("README has no report schema section")
            return
        }
        let section = String(readme[start.upperBound...]).components(separatedBy: "\n## ")[0]
        var rows: [String: String] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
            rows[
                cells[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`"))] =
                String(line)
        }
        guard case .object(let schema) = try JSONSchemaValidator.schema("report.schema.json"),
            case .object(let props)? = schema["properties"],
            case .object(let defs)? = schema["$defs"]
        else {
            Issue.record("report.schema.json has no properties")
            return
        }
        #expect(
            Set(rows.keys) == Set(props.keys), "README rows \(rows.keys.sorted()) against schema \(props.keys.sorted())"
        )
        // Each object's own keys appear, in backticks, in its row.
        for (key, node) in props {
            var n = node
            if case .string(let ref)? = n.objectValue?["$ref"], let name = ref.split(separator: "/").last {
                n = defs[String(name)] ?? n
            }
            guard case .object(let inner)? = n.objectValue?["properties"], let row = rows[key] else { continue }
            // Named as `key`, `key[]` (an array) or `key.<...>` (a map).
            for k in inner.keys {
                #expect(
                    ["`\(k)`", "`\(k)[]`", "`\(k)."].contains { row.contains($0) },
                    "README's \(key) row does not name \(k)")
            }
        }
    }

    @Test(
        "with Python's jsonschema installed, every schema is valid draft 2020-12 and agrees with the tests' validator on the samples"
    )
    func pythonAgrees() throws {
        let probe = try? runProcess("/usr/bin/env", ["python3", "-c", "import jsonschema, referencing"]).status
        guard probe == 0 else {
            print(
                "python3 with jsonschema is absent: the cross-check with it is skipped (scripts/setup --test-peers installs it)"
            )
            return
        }
        let dir = Paths.temporaryDirectory()
        // The DICOM node's study record and an event line, as htb serve writes them.
        let spool = Spool(root: dir + "/spool")
        try spool.prepare()
        var record = StudyRecord(studyUID: "2.25.7", now: Date())
        record.htbPercent = 12.5
        record.results = ["analysis-1/dicom/sr.dcm"]
        try FileManager.default.createDirectory(atPath: spool.study("2.25.7"), withIntermediateDirectories: true)
        try spool.write(record)
        try EventLog(path: dir + "/events.jsonl").log(
            "study_sent", ["study_uid": "2.25.7", "files": 5, "seconds": 0.4])
        let docs: [(String, String)] = [
            (
                try String(contentsOfFile: spool.study("2.25.7") + "/state.json", encoding: .utf8),
                "node-study.schema.json"
            ),
            (try String(contentsOfFile: dir + "/events.jsonl", encoding: .utf8), "node-event.schema.json"),
            (try runHTB(["info", Self.sample, "--json"]).stdout, "info.schema.json"),
            (
                try runHTB([
                    "qa", Self.sample, "--truth-liver", Self.sample + "/truth/seg.dcm:Liver", "--truth-lesion",
                    Self.sample + "/truth/seg.dcm:Lesion*", "--json",
                ]).stdout, "qa.schema.json"
            ),
            (try String(contentsOfFile: Self.sample + "/truth.json", encoding: .utf8), "phantom-truth.schema.json"),
            (
                try runHTB([
                    "compare", Self.sample, Self.sample, "--json", "--out", dir + "/compare", "--single-phase",
                    "--baseline-liver-mask", Self.sample + "/truth/seg.dcm:Liver", "--baseline-lesion-mask",
                    Self.sample + "/truth/seg.dcm:Lesion*", "--followup-liver-mask",
                    Self.sample + "/truth/seg.dcm:Liver",
                    "--followup-lesion-mask", Self.sample + "/truth/seg.dcm:Lesion*",
                ]).stdout, "compare.schema.json"
            ),
        ]
        var listing: [String] = []
        for (n, (text, schema)) in docs.enumerated() {
            #expect(try JSONSchemaValidator.violations(ofJSON: Data(text.utf8), against: schema).isEmpty, "\(schema)")
            try text.write(toFile: dir + "/doc\(n).json", atomically: true, encoding: .utf8)
            listing.append("(\"\(dir)/doc\(n).json\", \"\(schema)\")")
        }
        let script = """
            import glob, json, os, sys, jsonschema
            from referencing import Registry, Resource
            d = sys.argv[1]
            schemas = {os.path.basename(f): json.load(open(f)) for f in glob.glob(d + "/*.schema.json")}
            reg = Registry()
            for s in schemas.values():
                jsonschema.Draft202012Validator.check_schema(s)
                reg = reg.with_resource(s["$id"], Resource.from_contents(s))
            bad = 0
            for doc, name in [\(listing.joined(separator: ", "))]:
                errors = list(jsonschema.Draft202012Validator(schemas[name], registry=reg).iter_errors(json.load(open(doc))))
                for e in errors: print(name, e.message, file=sys.stderr)
                bad += len(errors)
            print(len(schemas))
            sys.exit(1 if bad else 0)
            """
        try script.write(toFile: dir + "/check.py", atomically: true, encoding: .utf8)
        let r = try runProcess("/usr/bin/env", ["python3", dir + "/check.py", JSONSchemaValidator.directory])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == Self.schemaFiles.count, "\(r.stdout)")
    }
}

extension JSONValue {
    var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }
}
