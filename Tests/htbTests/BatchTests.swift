import DicomIO
import Foundation
import Phantom
import Testing

@testable import Batch

/// Batch runs on a generated tree that mixes good studies with the usual trouble.
@Suite("Batch", .serialized)
struct BatchTests {
    /// A tree: good studies (A), one split over two folders (B), two copies of one study (C),
    /// an MR series (D), a truncated file (E), a hostile Patient ID (F), a study without masks (G)
    /// and a non-DICOM file.
    static func tree() throws -> String {
        let root = Paths.temporaryDirectory("batchtree")
        func phantom(_ seed: UInt64, _ dir: String) throws {
            var s = PhantomSpec()
            s.seed = seed
            s.matrix = 48
            s.slices = 16
            s.pixelMM = 7
            s.sliceMM = 10
            s.lesions = 3
            s.htbPercent = Double(seed % 7) * 10 + 5
            s.noiseHU = 5
            try Phantom.build(s).write(to: root + "/" + dir)
        }
        try phantom(11, "A")
        try phantom(12, "B")
        try FileManager.default.createDirectory(atPath: root + "/B-more/ct", withIntermediateDirectories: true)
        for k in 9...16 {
            try FileManager.default.moveItem(
                atPath: root + String(format: "/B/ct/IM%04d.dcm", k),
                toPath: root + String(format: "/B-more/ct/IM%04d.dcm", k))
        }
        try phantom(13, "C")
        try FileManager.default.copyItem(atPath: root + "/C", toPath: root + "/C-copy")
        try phantom(14, "D")
        for k in 1...16 { try edit(root + String(format: "/D/ct/IM%04d.dcm", k)) { try $0.set(.modality, "MR") } }
        try phantom(15, "E")
        let bad = root + "/E/ct/IM0007.dcm"
        let data = try Data(contentsOf: URL(fileURLWithPath: bad))
        try data.prefix(data.count - 500).write(to: URL(fileURLWithPath: bad))
        try phantom(16, "F")
        for k in 1...16 { try edit(root + String(format: "/F/ct/IM%04d.dcm", k)) { try $0.set(.patientID, "../../x") } }
        try phantom(17, "G")
        try FileManager.default.removeItem(atPath: root + "/G/truth/seg.dcm")
        try "not DICOM".write(toFile: root + "/notes.txt", atomically: true, encoding: .utf8)
        return root
    }

    static func edit(_ file: String, _ change: (DicomFile) throws -> Void) throws {
        let f = try DicomFile(path: file, headersOnly: false)
        try change(f)
        try f.save(to: file)
    }

    static func rows(_ out: String) throws -> [String: [String: String]] {
        let lines = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8).split(separator: "\n").map(
            String.init)
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var out: [String: [String: String]] = [:]
        for line in lines.dropFirst() {
            // Fields here hold no quoted commas except error messages, which are compared whole.
            var fields: [String] = [], cur = "", quoted = false
            for c in line {
                if c == "\"" {
                    quoted.toggle()
                    cur.append(c)
                } else if c == "," && !quoted {
                    fields.append(cur)
                    cur = ""
                } else {
                    cur.append(c)
                }
            }
            fields.append(cur)
            var row = Dictionary(uniqueKeysWithValues: zip(header, fields))
            row["seconds"] = nil
            out[row["key"]!] = row
        }
        return out
    }

    static func byStudy(_ rows: [String: [String: String]], _ root: String, _ folder: String) throws -> [String:
        String]?
    {
        let uid = try SliceHeader.read(path: root + "/" + folder + "/ct/IM0001.dcm").studyUID
        return rows.values.first { $0["study_uid"] == uid }
    }

    @Test("a mixed tree: one row a study, failures isolated and classed, exit 80, resume keeps everything")
    func mixedTree() throws {
        let root = try Self.tree()
        let out = Paths.temporaryDirectory("batchout")
        let r = try runHTB(["batch", root, "--out", out, "--no-png", "--quiet"])
        #expect(r.status == 80, "\(r.stderr)")
        let rows = try Self.rows(out)
        #expect(rows.count == 7)
        #expect(try Self.byStudy(rows, root, "A")?["status"] == "ok")
        let b = try Self.byStudy(rows, root, "B")
        #expect(b?["status"] == "ok")
        let report =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: out + "/" + b!["key"]! + "/report.json"))) as! [String: Any]
        #expect((report["study"] as! [String: Any])["slice_count"] as? Int == 16)
        #expect(try Self.byStudy(rows, root, "C")?["status"] == "ok")
        #expect(try Self.byStudy(rows, root, "D")?["error_class"] == "unsupported")
        #expect(try Self.byStudy(rows, root, "E")?["error_class"] == "bad_dicom")
        let f = try Self.byStudy(rows, root, "F")
        #expect(f?["status"] == "ok" && f?["patient_id"] == "../../x")
        // No masks anywhere: segmented automatically, and the report says so.
        let g = try #require(try Self.byStudy(rows, root, "G"))
        #expect(g["status"] == "ok", "\(g)")
        let gReport =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: out + "/" + g["key"]! + "/report.json"))) as! [String: Any]
        let gInputs = gReport["inputs"] as! [String: Any]
        #expect(((gInputs["liver_masks"] as! [[String: Any]])[0]["source"] as? String) == "automatic")
        #expect(((gInputs["lesion_masks"] as! [[String: Any]])[0]["source"] as? String) == "automatic")
        // The review flag has a column: yes or no for an automatic result, empty with expert masks.
        #expect(["yes", "no"].contains(g["automatic_review_needed"] ?? ""), "\(g)")
        #expect(try Self.byStudy(rows, root, "A")?["automatic_review_needed"] == "")
        // Nothing outside DIR; DIR holds only study folders and the two tables.
        #expect(!FileManager.default.fileExists(atPath: (out as NSString).deletingLastPathComponent + "/x"))
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        #expect(names == Set(rows.keys).union(["summary.csv", "results.jsonl"]))
        #expect(try String(contentsOfFile: out + "/results.jsonl", encoding: .utf8).split(separator: "\n").count == 7)
        // Resume: everything kept, same rows; a changed input is redone.
        let again = try runHTB(["batch", root, "--out", out, "--no-png", "--resume"])
        #expect(again.stdout.contains("7 kept from an earlier run"))
        #expect(try Self.rows(out) == rows)
        let a = root + "/A/ct/IM0003.dcm"
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: a)
        let third = try runHTB(["batch", root, "--out", out, "--no-png", "--resume"])
        #expect(third.stdout.contains("6 kept from an earlier run"))
        #expect(try Self.rows(out) == rows)
    }

    @Test("--deidentify keeps patient names, IDs and birth dates out of every output")
    func deidentify() throws {
        let root = try Self.tree()
        let out = Paths.temporaryDirectory("batchdeid")
        _ = try runHTB(["batch", root, "--out", out, "--deidentify", "--quiet"])
        let files = Inventory.listFiles(under: out)
        #expect(files.contains { $0.hasSuffix(".png") })
        for file in files {
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
            #expect(
                !text.contains("PHANTOM^HTB") && !text.contains("PHANTOM-1") && !text.contains("../../x")
                    && !text.contains(root), "\(file)")
        }
        #expect(!(try String(contentsOfFile: out + "/summary.csv", encoding: .utf8)).contains("patient_id"))
    }

    @Test("N shards merged equal one unsharded run")
    func shards() throws {
        let root = try Self.tree()
        let whole = Paths.temporaryDirectory("batchwhole"), s1 = Paths.temporaryDirectory("batchs1"),
            s2 = Paths.temporaryDirectory("batchs2")
        let s3 = Paths.temporaryDirectory("batchs3"), merged = Paths.temporaryDirectory("batchmerged")
        _ = try runHTB(["batch", root, "--out", whole, "--no-png", "--quiet"])
        for (k, dir) in [(1, s1), (2, s2), (3, s3)] {
            _ = try runHTB(["batch", root, "--out", dir, "--no-png", "--quiet", "--shard", "\(k)/3"])
        }
        let counts = try [s1, s2, s3].map { try Self.rows($0).count }
        #expect(counts.reduce(0, +) == 7)
        #expect(Set(try Self.rows(s1).keys).isDisjoint(with: Set(try Self.rows(s2).keys)))
        let m = try runHTB(["merge", s1, s2, s3, "--out", merged])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(try Self.rows(merged) == Self.rows(whole))
        #expect(try runHTB(["batch", root, "--out", s1, "--shard", "4/3"]).status == 64)
    }

    @Test("kill -9 in the middle, then --resume: the summary equals an uninterrupted run's")
    func killAndResume() throws {
        let root = try Self.tree()
        let reference = Paths.temporaryDirectory("batchref"), out = Paths.temporaryDirectory("batchkill")
        _ = try runHTB(["batch", root, "--out", reference, "--quiet"])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Paths.htb)
        p.arguments = ["batch", root, "--out", out, "--jobs", "1", "--quiet"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Kill as soon as the first study is complete (or something is half written).
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            if names.contains(where: { !$0.hasPrefix(".") && !$0.hasSuffix(".csv") && !$0.hasSuffix(".jsonl") }) {
                break
            }
            usleep(5_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let killed = p.terminationReason == .uncaughtSignal
        #expect(killed, "the run finished before it could be killed")
        let r = try runHTB(["batch", root, "--out", out, "--resume", "--quiet"])
        #expect(r.status == 80)
        #expect(try Self.rows(out) == Self.rows(reference), "killed mid-run: \(killed)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(!names.contains { $0.hasPrefix(".tmp-") || $0.hasPrefix(".old-") })
    }

    @Test("a DICOMDIR lists its folder's files: only those are read")
    func dicomdir() throws {
        let root = Paths.temporaryDirectory("batchdicomdir")
        var spec = PhantomSpec()
        spec.seed = 21
        spec.matrix = 48
        spec.slices = 16
        spec.pixelMM = 7
        spec.sliceMM = 10
        spec.lesions = 2
        spec.htbPercent = 15
        try Phantom.build(spec).write(to: root + "/export")
        // A DICOMDIR naming slices 1-12 and the SEG; slices 13-16 stay on disk but unlisted.
        let d = DicomFile.create()
        try d.set(.sopClassUID, SliceHeader.mediaStorageDirectory)
        try d.set(.sopInstanceUID, UIDFactory.random())
        let records = Tag(0x0004, 0x1220), fileID = Tag(0x0004, 0x1500)
        var n = 0
        for k in 1...12 {
            try d.set([TagPathStep(records, item: n), TagPathStep(Tag(0x0004, 0x1430))], "IMAGE")
            try d.set([TagPathStep(records, item: n), TagPathStep(fileID)], String(format: "CT\\IM%04d.dcm", k))
            n += 1
        }
        try d.set([TagPathStep(records, item: n), TagPathStep(Tag(0x0004, 0x1430))], "SEGMENTATION")
        try d.set([TagPathStep(records, item: n), TagPathStep(fileID)], "TRUTH\\SEG.DCM")
        try d.save(to: root + "/export/DICOMDIR")
        // File IDs are upper case in DICOMDIRs; these files are not, so link the names it uses.
        try FileManager.default.createSymbolicLink(
            atPath: root + "/export/CT", withDestinationPath: root + "/export/ct")
        try FileManager.default.createDirectory(atPath: root + "/export/TRUTH", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: root + "/export/truth/seg.dcm", toPath: root + "/export/TRUTH/SEG.DCM")
        let found = try Discovery.discover(root: root)
        #expect(found.studies.count == 1)
        #expect(found.studies[0].files.count == 13)
        #expect(found.studies[0].files.allSatisfy { !$0.contains("IM0013") && !$0.contains("IM0016") })
    }
}
