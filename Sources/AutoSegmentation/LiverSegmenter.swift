import Filters
import Foundation
import VolumeModel
import Volumetry

/// The liver, on a grid already block-averaged to about 1.5 mm (see `AutoSegmentation`).
///
/// Classical and image-adaptive, every parameter from the study itself: the body is the largest
/// region above -300 HU; the liver's HU mode and spread come from a histogram of smoothed soft
/// tissue in the patient's right half (of its peaks, the one whose band holds the thickest
/// right-sided core); voxels within 3 robust SDs of it form a band; a 10 mm
/// erosion (which sees the vessels within the parenchyma as tissue) cuts thin bridges to
/// neighbours of similar density; the largest right-sided core is
/// regrown within the band, closed and its holes filled slice by slice (vessels and enclosed
/// lesions become liver). `refine` tightens the result once the lesions are known (the order is
/// in `AutoSegmentation.segment`).
public enum LiverSegmenter {
    public struct Result: Sendable {
        public var liver: Mask
        /// The body (largest region above -300 HU), for later steps.
        public var body: Mask
        public var modeHU: Float
        public var robustSDHU: Float
        /// The CT smoothed by a 1 mm Gaussian, from which the band was cut.
        public var smooth: Volume<Float>
        /// The band, and the cores not chosen (voxel indices), for `DetachedLobes`.
        public var band: Mask
        public var otherCores: [[Int]]
    }

    /// `vesselHoles`: false only for ablation studies (`AutoSegmentation.Stage.vesselHoles`).
    public static func segment(_ small: CTVolume, vesselHoles: Bool = true) throws -> Result {
        let g = small.geometry
        var above = Mask(repeating: 0, geometry: g)
        for v in 0..<small.voxels.count where small.voxels[v] > -300 { above.voxels[v] = 1 }
        let body = Filters.largestComponent(above)
        let smooth = Filters.gaussian(small, sigmaMM: 1.0)
        // The patient's right: x below the body's centre (LPS: +x is the patient's left).
        guard let centre = bodyCentreMM(body)?.x else {
            throw AutoSegmentationError.noLiverFound(reason: "no body (no region above -300 HU)")
        }
        var right = Mask(repeating: 0, geometry: g)
        for v in 0..<body.voxels.count where body.voxels[v] != 0 && x(of: v, g) < centre { right.voxels[v] = 1 }
        // Candidates for the liver's tissue: the histogram's peaks (the highest, and any other at
        // least a quarter as high and 20 HU from a higher one). The abdominal wall's muscle or a
        // hypodense tumour can outnumber the parenchyma in the right half; the liver is the
        // candidate whose band holds the largest right-sided core thicker than 20 mm. For that
        // comparison each band stops halfway to the next candidate's peak (a muscle band must not
        // take in the liver).
        let candidates = Filters.modes(
            smooth, within: right, lo: 40, hi: 250, minimumRelativeHeight: 0.25, separation: 20)
        guard !candidates.isEmpty else {
            throw AutoSegmentationError.noLiverFound(
                reason: "no soft tissue between 40 and 250 HU in the patient's right half")
        }
        let peaks = candidates.prefix(3).map(\.mode)
        func liverCore(_ band: Mask, right: Mask) -> (parts: [[Int]], best: Int) {
            let parts = components(of: Filters.erode(band, radiusMM: 10), connectivity: .faces6).voxels
            var best = -1
            for (n, p) in parts.enumerated() {
                let onRight = right.insideCount(of: p)
                if onRight * 2 > p.count && p.count > (best < 0 ? 0 : parts[best].count) { best = n }
            }
            return (parts, best)
        }
        // The comparison runs on a grid twice as coarse in-plane (a quarter of the work); a single
        // candidate needs none.
        var n = 0
        if peaks.count > 1 {
            let coarseRight = Filters.downsample(right, factor: 2)
            var largest = 0
            for (c, (mode, sd, _)) in candidates.prefix(3).enumerated() {
                let width = max(3 * sd, 15)
                var lo = mode - width, hi = mode + width
                for p in peaks where p < mode { lo = max(lo, (p + mode) / 2) }
                for p in peaks where p > mode { hi = min(hi, (p + mode) / 2) }
                let (parts, best) = liverCore(
                    Filters.downsample(Filters.band(smooth, lo: lo, hi: hi, within: body), factor: 2),
                    right: coarseRight)
                if best >= 0 && parts[best].count > largest { (n, largest) = (c, parts[best].count) }
            }
        }
        // The band to grow in is not cut: the highest peak keeps its own (as with a single
        // candidate); another takes its SD from its peak's half width where the MAD is widened
        // by the higher peak beside it.
        let mode = candidates[n].mode
        let sd = n == 0 ? candidates[n].robustSD : min(candidates[n].robustSD, 2 * candidates[n].halfWidthSD)
        let width = max(3 * sd, 15)
        let band = Filters.band(smooth, lo: mode - width, hi: mode + width, within: body)
        // The erosion sees the liver's vessels as tissue (`withVesselHoles`), where the band is the
        // parenchyma's of some phase; the regrowth below stays within the band itself.
        let eroded =
            vesselHoles && LiverTissue.plausibleParenchymaHU.contains(Double(mode))
            ? withVesselHoles(
                band, smooth: smooth, bandTopHU: mode + width, parenchymaHU: mode,
                toleranceHU: candidates[n].halfWidthSD)
            : band
        let (parts, bestIndex) = liverCore(eroded, right: right)
        guard bestIndex >= 0 else {
            throw AutoSegmentationError.noLiverFound(
                reason: String(
                    format: "no region of %.0f +- %.0f HU thicker than 20 mm in the patient's right half", mode, width))
        }
        let seedVoxels = parts[bestIndex]
        var seed = Mask(repeating: 0, geometry: g)
        for v in seedVoxels { seed.voxels[v] = 1 }
        var liver = Filters.dilate(seed, radiusMM: regrowMM)
        for v in 0..<liver.voxels.count where band.voxels[v] == 0 { liver.voxels[v] = 0 }
        liver = Filters.close(liver, radiusMM: 4)
        liver = Filters.fillHolesPerSlice(liver)
        var others = parts
        others.remove(at: bestIndex)
        return Result(
            liver: liver, body: body, modeHU: mode, robustSDHU: sd, smooth: smooth, band: band, otherCores: others)
    }

    /// Vessel holes (htb-auto/44): contrast-filled hepatic and portal veins are brighter than the
    /// band's top in some studies (IRCADb 17 with its enhancement raised by 20 %: veins at
    /// 180-200 HU, the band's top 172 HU) and perforate it, and the 10 mm erosion that cuts the
    /// liver's bridges to its neighbours then also cuts the liver itself (its core lost a third
    /// and the dome). So the erosion sees, slice by slice, each hole of the band that is a vessel
    /// within parenchyma as band: a region the band encloses in plane (4-connected), brighter
    /// on average than the band's top but below `maxVesselHU` (blood with contrast, not bone or
    /// excreted contrast), no larger than `maxVesselHoleMM2` (a branch inside the liver, not the
    /// cava, a kidney or the stomach), and ringed by the liver's own tissue: of the pixels 3-4
    /// steps out (4.5-7.5 mm on the 1.5-1.9 mm working grid, beyond the vessel's blurred edge),
    /// at least 90 % in the band and their median within `toleranceHU` (the parenchyma peak's
    /// half-width SD) of the parenchyma's mode. Without that ring test, bowel wall, mesentery and
    /// ribs in a wide band (HCC 1720 with its enhancement lowered by 20 %) had their holes filled
    /// too and the core grew into them.
    static let maxVesselHoleMM2 = 80.0
    static let maxVesselHU: Float = 300
    static let vesselRingShare = 0.9

    static func withVesselHoles(
        _ band: Mask, smooth: Volume<Float>, bandTopHU top: Float, parenchymaHU mode: Float, toleranceHU: Float
    ) -> Mask {
        var holes = Filters.fillHolesPerSlice(band)
        for v in 0..<holes.voxels.count where band.voxels[v] != 0 { holes.voxels[v] = 0 }
        let g = band.geometry, d = g.dims
        let pixelMM2 = g.spacingMM.x * g.spacingMM.y
        var out = band
        for k in 0..<d.z {
            let (labels, count) = Filters.sliceRegions(holes, slice: k)
            guard count > 0 else { continue }
            let base = k * d.sliceCount
            var members = [[Int]](repeating: [], count: count + 1)
            for p in 0..<d.sliceCount where labels[p] != 0 { members[Int(labels[p])].append(p) }
            for pixels in members.dropFirst() where Double(pixels.count) * pixelMM2 <= maxVesselHoleMM2 {
                let mean = pixels.reduce(Float(0)) { $0 + smooth.voxels[base + $1] } / Float(pixels.count)
                guard mean > top, mean < maxVesselHU else { continue }
                let ring = ringPixels(around: pixels, width: d.x, height: d.y, steps: 3...4)
                guard !ring.isEmpty else { continue }
                let inBand = ring.filter { band.voxels[base + $0] != 0 }.count
                let median = Filters.median(ring.map { smooth.voxels[base + $0] })
                guard Double(inBand) >= vesselRingShare * Double(ring.count), abs(median - mode) <= toleranceHU
                else { continue }
                for p in pixels { out.voxels[base + p] = 1 }
            }
        }
        return out
    }

    /// The pixels of one slice (indices within it) at city-block distance `steps` from `region`.
    static func ringPixels(around region: [Int], width: Int, height: Int, steps: ClosedRange<Int>) -> [Int] {
        var seen = Set(region)
        var frontier = region, ring: [Int] = []
        for step in 1...steps.upperBound {
            var next: [Int] = []
            for p in frontier {
                let i = p % width, j = p / width
                for (ok, q) in [
                    (i > 0, p - 1), (i + 1 < width, p + 1), (j > 0, p - width), (j + 1 < height, p + width),
                ]
                where ok && seen.insert(q).inserted {
                    next.append(q)
                    if steps.contains(step) { ring.append(q) }
                }
            }
            frontier = next
        }
        return ring
    }

    /// The core is regrown by this within the band (the 10 mm erosion and a voxel more).
    static let regrowMM = 11.0

    /// Refinement: the band above is wide (its SD comes from the whole right half, muscle and
    /// bowel included), so muscle of the abdominal wall and the diaphragm, the IVC and bowel at
    /// liver density stay attached. The parenchyma's own statistics (mode inside the liver eroded
    /// by 3 mm, SD from that peak's half width at half maximum) give a tight band, mode +- 4 SD
    /// (SD at least 5 HU); the liver's voxels within it, and the voxels kept, are opened by 5 mm
    /// (cutting what joins through necks thinner than 10 mm), the largest part kept and dilated
    /// back by 5 mm within the liver; liver voxels within 8 mm of that part (3 mm beyond) and
    /// within 3 mm of fat (< -30 HU) come back too (the partial-volume rim where the liver meets
    /// fat, not where it meets muscle); holes are filled slice by slice (vessels and enclosed
    /// lesions).
    static let refineSD: Float = 4
    static let refineOpenMM = 5.0
    static let refineRimMM = 3.0
    static let fatHU: Float = -30

    static func refine(_ liver: Mask, smooth: Volume<Float>, keeping lesions: Mask) -> Mask {
        // All of it lies within the liver's box; the fat it looks for, within 3 mm more.
        guard let box = liver.boundingBox?.expanded(byMM: refineRimMM + 2, in: liver.geometry) else { return liver }
        let part = refineWithin(
            liver.cropped(to: box), smooth: smooth.cropped(to: box), keeping: lesions.cropped(to: box))
        return Mask(repeating: 0, geometry: liver.geometry).pasting(part, at: box)
    }

    static func refineWithin(_ liver: Mask, smooth: Volume<Float>, keeping lesions: Mask) -> Mask {
        var inner = Filters.erode(liver, radiusMM: 3)
        if inner.insideCount < 100 { inner = liver }
        // The SD from the mode's own peak width: a leaked neighbour of other density (the spleen
        // next to a fatty liver) widens the MAD but not the parenchyma's peak.
        guard let (m, sdRaw) = Filters.mode(smooth, within: inner, lo: -50, hi: 250, peakWidthOnly: true) else {
            return liver
        }
        let width = refineSD * max(sdRaw, 5)
        var tight = liver
        for v in 0..<tight.voxels.count
        where tight.voxels[v] != 0 && lesions.voxels[v] == 0 && abs(smooth.voxels[v] - m) >= width {
            tight.voxels[v] = 0
        }
        let core = Filters.largestComponent(Filters.erode(tight, radiusMM: refineOpenMM))
        guard core.insideCount > 0 else { return liver }
        // One distance map from the opened core serves both the dilation back and the rim.
        let r2 = Float(refineOpenMM * refineOpenMM),
            outer2 = Float((refineOpenMM + refineRimMM) * (refineOpenMM + refineRimMM))
        let d2 = Filters.squaredDistanceMM2(to: core, capMM2: outer2 * 2).voxels
        var back = Mask(repeating: 0, geometry: liver.geometry)
        for v in 0..<back.voxels.count where liver.voxels[v] != 0 && d2[v] <= r2 { back.voxels[v] = 1 }
        // The rim: liver voxels within 3 mm more of it that have fat within 3 mm (a thin shell,
        // so each looks around itself rather than through a distance map of all the fat).
        let g = liver.geometry, d = g.dims, sp = g.spacingMM
        let reach = (Int(refineRimMM / sp.x), Int(refineRimMM / sp.y), Int(refineRimMM / sp.z))
        var offsets: [(Int, Int, Int)] = []
        for dk in -reach.2...reach.2 {
            for dj in -reach.1...reach.1 {
                for di in -reach.0...reach.0 {
                    let x = Double(di) * sp.x, y = Double(dj) * sp.y, z = Double(dk) * sp.z
                    if x * x + y * y + z * z <= refineRimMM * refineRimMM { offsets.append((di, dj, dk)) }
                }
            }
        }
        for v in 0..<back.voxels.count where liver.voxels[v] != 0 && back.voxels[v] == 0 && d2[v] <= outer2 {
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            for (di, dj, dk) in offsets {
                let x = i + di, y = j + dj, z = k + dk
                guard x >= 0, x < d.x, y >= 0, y < d.y, z >= 0, z < d.z else { continue }
                if smooth.voxels[x + d.x * (y + d.y * z)] < fatHU {
                    back.voxels[v] = 1
                    break
                }
            }
        }
        return Filters.fillHolesPerSlice(back)
    }

    /// The centre of the body's extent left-right and front-back (mm, LPS x and y), from every
    /// 7th voxel; nil without a body.
    static func bodyCentreMM(_ body: Mask) -> (x: Double, y: Double)? {
        let g = body.geometry, d = g.dims
        var lo = (Double.infinity, Double.infinity), hi = (-Double.infinity, -Double.infinity)
        for v in stride(from: 0, to: body.voxels.count, by: 7) where body.voxels[v] != 0 {
            let p = g.positionMM(Double(v % d.x), Double((v / d.x) % d.y), Double(v / d.sliceCount))
            lo = (min(lo.0, p.x), min(lo.1, p.y))
            hi = (max(hi.0, p.x), max(hi.1, p.y))
        }
        return lo.0 <= hi.0 ? ((lo.0 + hi.0) / 2, (lo.1 + hi.1) / 2) : nil
    }

    /// The body's half-width about its centre's x (mm, from every 7th voxel).
    static func bodyHalfWidthMM(_ body: Mask, centreX: Double) -> Double {
        var halfWidth = 0.0
        for v in stride(from: 0, to: body.voxels.count, by: 7) where body.voxels[v] != 0 {
            halfWidth = max(halfWidth, abs(x(of: v, body.geometry) - centreX))
        }
        return halfWidth
    }

    @inline(__always) static func x(of v: Int, _ g: Geometry) -> Double {
        let i = v % g.dims.x, j = (v / g.dims.x) % g.dims.y, k = v / g.dims.sliceCount
        return g.positionMM(Double(i), Double(j), Double(k)).x
    }
}
