import Analysis
import Foundation
import NIfTI
import Phantom
import Testing

@testable import DicomIO

/// The committed sample studies: regenerated from the command in their truth.json they give the
/// same pixels and truth, and analyze with the truth masks reproduces truth.json.
@Suite("Sample studies")
struct SampleStudyTests {
    static var samples: [String] {
        let root = Paths.packageRoot + "/SampleStudies"
        return ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .filter { FileManager.default.fileExists(atPath: root + "/" + $0 + "/truth.json") }.sorted().map {
                root + "/" + $0
            }
    }

    static func truth(_ dir: String) throws -> PhantomTruth {
        try JSONDecoder().decode(PhantomTruth.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/truth.json")))
    }

    @Test("one sample per HTB category, each under 3 MB")
    func present() throws {
        let categories = try Self.samples.map { try Self.truth($0).category }
        #expect(Set(categories) == ["below_50", "50_to_75", "above_75"])
        for dir in Self.samples {
            let files = Inventory.listFiles(under: dir)
            let bytes = try files.map { try FileManager.default.attributesOfItem(atPath: $0)[.size] as! Int }.reduce(
                0, +)
            #expect(bytes < 3_000_000, "\(dir) holds \(bytes) bytes")
        }
    }

    @Test("regenerating a sample gives the same pixels and truth", arguments: samples)
    func regenerate(_ dir: String) throws {
        let truth = try Self.truth(dir)
        let again = try Phantom.build(truth.spec)
        #expect(again.truth.liverVoxels == truth.liverVoxels)
        #expect(again.truth.lesionVoxels == truth.lesionVoxels)
        #expect(again.truth.command == truth.command)
        let ct = try SeriesLoader.loadCT(try Inventory.scan(dir + "/ct").imageSeries()[0])
        #expect(ct.volume.voxels == again.ct.voxels)
        let labels = try NIfTIImage.read(path: dir + "/truth/labels.nii.gz")
        #expect((0..<again.labels.voxels.count).allSatisfy { labels.value(at: $0) == Double(again.labels.voxels[$0]) })
    }

    @Test(
        "analyze with the truth masks (NIfTI and SEG) reproduces truth.json exactly", arguments: samples, [false, true])
    func analyze(_ dir: String, viaSEG: Bool) throws {
        let truth = try Self.truth(dir)
        let a = try Analysis.run(
            .init(
                studyPath: dir,
                liverMasks: [MaskSpec(dir + (viaSEG ? "/truth/seg.dcm:Liver" : "/truth/labels.nii.gz:1"))],
                lesionMasks: [MaskSpec(dir + (viaSEG ? "/truth/seg.dcm:Lesion*" : "/truth/labels.nii.gz:2"))]))
        #expect(relativeError(a.result.liverVolumeML, truth.liverVolumeML) < 1e-4)
        #expect(relativeError(a.result.lesionVolumeML, truth.lesionVolumeML) < 1e-4)
        #expect(abs(a.result.htbPercent - truth.htbPercent) < 1e-3)
        #expect(a.result.category.rawValue == truth.category)
        #expect(a.result.lesions.count == truth.lesionCount)
    }
}
