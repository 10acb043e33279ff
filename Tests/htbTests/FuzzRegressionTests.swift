import Foundation
import Testing

/// Inputs that fuzzing (`make fuzz`, docs/fuzzing.md) found to crash a reader, kept under
/// Tests/FuzzRegressions/<harness>/ once fixed, plus the seeds of each harness: all replay through
/// the plain build of the harnesses (`htbfuzz HARNESS FILE...`) without a crash.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static var replayer: String { (Paths.htb as NSString).deletingLastPathComponent + "/htbfuzz" }

    static func files(under dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            .map { dir + "/" + $0 }
    }

    @Test("kept inputs and seeds replay without a crash", arguments: ["dicom", "seg", "nifti"])
    func replay(harness: String) throws {
        let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-low"
        let seeds: [String]
        switch harness {
        case "dicom": seeds = Array(Self.files(under: sample + "/ct").prefix(3)) + [sample + "/truth/seg.dcm"]
        case "seg": seeds = [sample + "/truth/seg.dcm", Self.files(under: sample + "/ct")[0]]
        default: seeds = [sample + "/truth/labels.nii.gz"]
        }
        let kept = Self.files(under: Paths.packageRoot + "/Tests/FuzzRegressions/" + harness)
        let r = try runProcess(Self.replayer, [harness] + seeds + kept)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("\(seeds.count + kept.count) files, no crash"), "\(r.stdout)")
    }

    @Test("the replayer refuses an unknown harness")
    func unknownHarness() throws {
        let r = try runProcess(Self.replayer, ["jpeg"])
        #expect(r.status == 64)
    }
}
