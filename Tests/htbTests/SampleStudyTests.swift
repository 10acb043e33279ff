import Analysis
import DicomIO
import Foundation
import NIfTI
import Phantom
import Testing

/// The committed sample studies: regenerated from the command in their truth.json they give the
/// same pixels and truth, and analyze with the truth masks reproduces truth.json.
@Suite("Sample studies")
struct SampleStudyTests {
    static var samples: [String] {
        let root = Paths.packageRoot + "/SampleStudies"
        return ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .filter { FileManager.default.fileExists(atPath: root + "/" + $0 + "/truth.json") }.sorted().map { root + "/" + $0 }
    }

    static func truth(_ dir: String) throws -> PhantomTruth {
        try JSONDecoder().decode(PhantomTruth.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/truth.json")))
    }

    @Test("there is at least one sample")
    func present() { #expect(!Self.samples.isEmpty) }

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

    @Test("analyze with the truth masks reproduces truth.json exactly", arguments: samples)
    func analyze(_ dir: String) throws {
        let truth = try Self.truth(dir)
        let a = try Analysis.run(.init(studyPath: dir, liverMasks: [MaskSpec(dir + "/truth/labels.nii.gz:1")],
                                       lesionMasks: [MaskSpec(dir + "/truth/labels.nii.gz:2")]))
        #expect(relativeError(a.result.liverVolumeML, truth.liverVolumeML) < 1e-4)
        #expect(relativeError(a.result.lesionVolumeML, truth.lesionVolumeML) < 1e-4)
        #expect(abs(a.result.htbPercent - truth.htbPercent) < 1e-3)
        #expect(a.result.category.rawValue == truth.category)
        #expect(a.result.lesions.count == truth.lesionCount)
    }
}
