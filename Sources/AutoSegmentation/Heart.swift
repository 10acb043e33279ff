import Filters
import Foundation
import VolumeModel
import Volumetry

/// The heart, where the automatic liver grew into it over the dome.
///
/// The heart sits on the diaphragm above the liver, and in the delayed phase, or with a weaker
/// enhancement, its blood and wall have the parenchyma's density, so the band can run from the
/// dome into it across the thin diaphragm (1720 with its enhancement x 0.8: 493 mL of heart).
/// Density cannot separate them; position can: the liver's highest slices are its right dome,
/// while the heart lies to the patient's left. From the highest slice down, the slices whose
/// liver cross-section has its centroid at least `minimumLeftShiftMM` left of the body's centre
/// are the heart's (the run may begin up to `minimumHeightMM` below the highest slice, whose
/// sliver at the field of view's edge can lie anywhere; the slices above the run are left to the
/// watershed); when they span at least `minimumHeightMM`, they seed the heart, the liver
/// below them (eroded by `liverSeedErosionMM`) seeds the liver, and a watershed from both seeds
/// over the distance from the parenchyma's mode (1 mm smoothing) divides the liver between
/// them: the boundary settles where the diaphragm or a fat plane is darker. What the heart's seed
/// floods leaves the liver.
///
/// Where the heart lies nearer the midline (its slices' centroid short of `minimumLeftShiftMM`),
/// the lungs give a second seed (`aboveTheDome`, htb-auto/46): the liver's dome lies under the
/// lung bases, while the heart rises between the lungs, with no lung above it. Returns the mL
/// removed by both.
enum Heart {
    /// The liver's dome lies 40-55 mm right of the body's centre in its highest slices; what the
    /// liver took of the heart lies 5-12 mm left (its right half can be what has the parenchyma's
    /// density). 10 mm before htb-auto/32: fine-grid delayed phantoms whose heart sat at 9.6-10.4
    /// mm kept 296-347 mL of it.
    static let minimumLeftShiftMM = 5.0
    static let minimumHeightMM = 10.0
    static let liverSeedErosionMM = 3.0

    /// The lung seed lies this far above the highest liver voxel with lung above it; the liver's
    /// seed this far below it.
    static let lungSeedMarginMM = 5.0
    /// A lung seed smaller than this is left alone (a sliver beside the dome's top).
    static let minimumLungSeedML = 5.0

    /// `lungs`: `SurfaceLesions.lungs(body:)` when the caller has it already (found here when nil).
    static func remove(
        from liver: inout Mask, lesions: inout Mask, smooth: Volume<Float>, body: Mask, modeHU: Float,
        lungs: Mask? = nil
    ) -> Double {
        bySlices(from: &liver, lesions: &lesions, smooth: smooth, body: body, modeHU: modeHU)
            + aboveTheDome(
                from: &liver, lesions: &lesions, smooth: smooth, lungs: lungs ?? SurfaceLesions.lungs(body: body),
                modeHU: modeHU)
    }

    /// The seed from the slices' centroids, left of the body's centre (see the type's comment).
    static func bySlices(from liver: inout Mask, lesions: inout Mask, smooth: Volume<Float>, body: Mask, modeHU: Float)
        -> Double
    {
        let g = liver.geometry, d = g.dims
        guard let centreX = LiverSegmenter.bodyCentreMM(body)?.x else { return 0 }
        // Each slice's liver centroid, left-right (patient x, mm; LPS: +x is the patient's left).
        var sumX = [Double](repeating: 0, count: d.z), count = [Int](repeating: 0, count: d.z)
        for v in 0..<liver.voxels.count where liver.voxels[v] != 0 {
            let k = v / d.sliceCount
            sumX[k] += g.positionMM(Double(v % d.x), Double((v / d.x) % d.y), Double(k)).x
            count[k] += 1
        }
        // From the highest slice (patient z, whatever the slice order) down.
        let occupied = (0..<d.z).filter { count[$0] > 0 }
        let height = { (k: Int) in g.positionMM(0, 0, Double(k)).z }
        var seedSlices: [Int] = []
        let fromTop = occupied.sorted(by: { height($0) > height($1) })
        let topHeight = fromTop.first.map(height) ?? 0
        for k in fromTop {
            guard sumX[k] / Double(count[k]) - centreX >= minimumLeftShiftMM else {
                // Before the run: a top sliver (fine delayed 1: 1.3 mL, 19 mm right) is skipped.
                if seedSlices.isEmpty && topHeight - height(k) < minimumHeightMM { continue }
                break
            }
            seedSlices.append(k)
        }
        guard seedSlices.count >= 2, let top = seedSlices.first, let bottom = seedSlices.last,
            abs(height(top) - height(bottom)) + g.spacingMM.z >= minimumHeightMM, seedSlices.count < occupied.count
        else { return 0 }
        let isSeedSlice = (0..<d.z).map { seedSlices.contains($0) }
        var below = liver
        for v in 0..<below.voxels.count where isSeedSlice[v / d.sliceCount] { below.voxels[v] = 0 }
        let liverSeed = Filters.erode(below, radiusMM: liverSeedErosionMM)
        var label = [UInt8](repeating: 0, count: liver.voxels.count)
        for v in 0..<label.count where liver.voxels[v] != 0 {
            if isSeedSlice[v / d.sliceCount] { label[v] = 1 } else if liverSeed.voxels[v] != 0 { label[v] = 2 }
        }
        return divide(label, liver: &liver, lesions: &lesions, smooth: smooth, modeHU: modeHU)
    }

    /// The seed from the lungs: the dome is the highest liver voxel that has lung above it in its
    /// column (`SurfaceLesions.lungs`); liver voxels more than `lungSeedMarginMM` above it with no
    /// lung above them, lesions left out (a lesion at the scan's top slice has no lung above it
    /// either), seed the heart when they make at least `minimumLungSeedML`; the liver more than
    /// that margin below the dome, eroded by `liverSeedErosionMM`, seeds the liver; the same
    /// watershed divides what lies between.
    static func aboveTheDome(
        from liver: inout Mask, lesions: inout Mask, smooth: Volume<Float>, lungs: Mask, modeHU: Float
    ) -> Double {
        let g = liver.geometry, d = g.dims
        let height = (0..<d.z).map { g.positionMM(0, 0, Double($0)).z }
        // The highest lung voxel of each column.
        var topLung = [Double](repeating: -.infinity, count: d.sliceCount)
        for v in 0..<lungs.voxels.count where lungs.voxels[v] != 0 {
            topLung[v % d.sliceCount] = max(topLung[v % d.sliceCount], height[v / d.sliceCount])
        }
        var dome = -Double.infinity
        for v in 0..<liver.voxels.count
        where liver.voxels[v] != 0 && topLung[v % d.sliceCount] > height[v / d.sliceCount] {
            dome = max(dome, height[v / d.sliceCount])
        }
        guard dome > -.infinity else { return 0 }
        var label = [UInt8](repeating: 0, count: liver.voxels.count)
        var seeds = 0
        for v in 0..<liver.voxels.count where liver.voxels[v] != 0 && lesions.voxels[v] == 0 {
            let k = v / d.sliceCount
            if topLung[v % d.sliceCount] <= height[k] && height[k] > dome + lungSeedMarginMM {
                label[v] = 1
                seeds += 1
            }
        }
        guard Double(seeds) * g.voxelVolumeMM3 / 1000 >= minimumLungSeedML else { return 0 }
        var below = liver
        for v in 0..<below.voxels.count where label[v] != 0 || height[v / d.sliceCount] > dome - lungSeedMarginMM {
            below.voxels[v] = 0
        }
        let liverSeed = Filters.erode(below, radiusMM: liverSeedErosionMM)
        for v in 0..<label.count where label[v] == 0 && liverSeed.voxels[v] != 0 { label[v] = 2 }
        return divide(label, liver: &liver, lesions: &lesions, smooth: smooth, modeHU: modeHU)
    }

    /// The watershed from the heart's seed (label 1) and the liver's (label 2) over the distance
    /// from the parenchyma's mode; what the heart's seed floods leaves the liver and the
    /// lesions. The mL removed (none without a liver seed).
    static func divide(_ seeds: [UInt8], liver: inout Mask, lesions: inout Mask, smooth: Volume<Float>, modeHU: Float)
        -> Double
    {
        var label = seeds
        guard label.contains(2) else { return 0 }
        flood(&label, within: liver, cost: { min(1023, Int(abs(smooth.voxels[$0] - modeHU).rounded())) })
        var removed = 0
        for v in 0..<label.count where label[v] == 1 {
            liver.voxels[v] = 0
            lesions.voxels[v] = 0
            removed += 1
        }
        return Double(removed) * liver.geometry.voxelVolumeMM3 / 1000
    }

    /// Watershed by flooding (a bucket queue over integer costs 0...1023): labelled voxels spread
    /// their label to unlabelled face neighbours inside `mask`, cheapest first; a voxel takes the
    /// label of whichever reaches it first.
    static func flood(_ label: inout [UInt8], within mask: Mask, cost: (Int) -> Int) {
        let d = mask.dims
        var buckets = [[(voxel: Int, label: UInt8)]](repeating: [], count: 1024)
        func push(_ n: Int, _ l: UInt8, _ level: Int) {
            if mask.voxels[n] != 0 && label[n] == 0 { buckets[max(level, cost(n))].append((n, l)) }
        }
        func pushNeighbours(of v: Int, _ l: UInt8, level: Int) {
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            if i > 0 { push(v - 1, l, level) }
            if i + 1 < d.x { push(v + 1, l, level) }
            if j > 0 { push(v - d.x, l, level) }
            if j + 1 < d.y { push(v + d.x, l, level) }
            if k > 0 { push(v - d.sliceCount, l, level) }
            if k + 1 < d.z { push(v + d.sliceCount, l, level) }
        }
        for v in 0..<label.count where label[v] != 0 { pushNeighbours(of: v, label[v], level: 0) }
        var level = 0
        while level < buckets.count {
            guard let (v, l) = buckets[level].popLast() else {
                level += 1
                continue
            }
            guard label[v] == 0 else { continue }
            label[v] = l
            pushNeighbours(of: v, l, level: level)
        }
    }
}
