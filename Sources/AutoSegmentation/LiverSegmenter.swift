import Filters
import Foundation
import VolumeModel
import Volumetry

/// The liver, on a grid already block-averaged to about 1.5 mm (see `AutoSegmentation`).
///
/// Classical and image-adaptive, every parameter from the study itself: the body is the largest
/// region above -300 HU; the liver's HU mode and spread come from a histogram of smoothed soft
/// tissue in the patient's right half; voxels within 3 robust SDs of it form a band; a 10 mm
/// erosion cuts thin bridges to neighbours of similar density; the largest right-sided core is
/// regrown within the band, closed and its holes filled slice by slice (vessels and enclosed
/// lesions become liver).
public enum LiverSegmenter {
    public struct Result: Sendable {
        public var liver: Mask
        /// The body (largest region above -300 HU), for later steps.
        public var body: Mask
        public var modeHU: Float
        public var robustSDHU: Float
        /// The CT smoothed by a 1 mm Gaussian, from which the band was cut.
        public var smooth: Volume<Float>
    }

    public static func segment(_ small: CTVolume) throws -> Result {
        let g = small.geometry
        var above = Mask(repeating: 0, geometry: g)
        for v in 0..<small.voxels.count where small.voxels[v] > -300 { above.voxels[v] = 1 }
        let body = Filters.largestComponent(above)
        let smooth = Filters.gaussian(small, sigmaMM: 1.0)
        // The patient's right: x below the body's centre (LPS: +x is the patient's left).
        var xs: [Double] = []
        for v in stride(from: 0, to: body.voxels.count, by: 7) where body.voxels[v] != 0 { xs.append(x(of: v, g)) }
        guard !xs.isEmpty else { throw AutoSegmentationError.noLiverFound(reason: "no body (no region above -300 HU)") }
        let centre = (xs.min()! + xs.max()!) / 2
        var right = Mask(repeating: 0, geometry: g)
        for v in 0..<body.voxels.count where body.voxels[v] != 0 && x(of: v, g) < centre { right.voxels[v] = 1 }
        guard let (mode, sd) = Filters.mode(smooth, within: right, lo: 40, hi: 250) else {
            throw AutoSegmentationError.noLiverFound(reason: "no soft tissue between 40 and 250 HU in the patient's right half")
        }
        let width = max(3 * sd, 15)
        let band = Filters.band(smooth, lo: mode - width, hi: mode + width, within: body)
        let core = Filters.erode(band, radiusMM: 10)
        let parts = components(of: core, connectivity: .faces6, sortedVoxels: false)
        var best: [Int]? = nil
        for p in parts.voxels {
            let onRight = p.reduce(0) { $0 + (right.voxels[$1] != 0 ? 1 : 0) }
            if onRight * 2 > p.count && p.count > (best?.count ?? 0) { best = p }
        }
        guard let seedVoxels = best else {
            throw AutoSegmentationError.noLiverFound(reason: String(format: "no region of %.0f +- %.0f HU thicker than 20 mm in the patient's right half", mode, width))
        }
        var seed = Mask(repeating: 0, geometry: g)
        for v in seedVoxels { seed.voxels[v] = 1 }
        var liver = Filters.dilate(seed, radiusMM: 11)
        for v in 0..<liver.voxels.count where band.voxels[v] == 0 { liver.voxels[v] = 0 }
        liver = Filters.erode(Filters.dilate(liver, radiusMM: 4), radiusMM: 4)
        liver = Filters.fillHolesPerSlice(liver)
        return Result(liver: liver, body: body, modeHU: mode, robustSDHU: sd, smooth: smooth)
    }

    @inline(__always) static func x(of v: Int, _ g: Geometry) -> Double {
        let i = v % g.dims.x, j = (v / g.dims.x) % g.dims.y, k = v / g.dims.sliceCount
        return g.positionMM(Double(i), Double(j), Double(k)).x
    }
}
