import Filters
import Foundation
import VolumeModel
import Volumetry

/// Neighbour organs joined to the liver step's outline through a waist: the spleen against the
/// left lobe's tip, the heart's wall over the dome. Each organ enhances in its own way, so a
/// lobe of the outline whose own tissue is brighter than the parenchyma by more than the noise
/// of a median, yet by less than a hyper-enhancing lesion, is another organ: the spleen is
/// brighter than the liver in the arterial and portal phases, the myocardium in the portal and
/// delayed ones. (Unenhanced, the spleen is darker than the liver: not found here.)
///
/// The outline's cores (eroded by `coreDepthMM`: the waists between organs are thinner than
/// 40 mm, the right lobe and a spleen are thicker) partition it, each voxel going to the core it
/// reaches first within the outline. A part other than the largest core's, of at least
/// `minimumPartML`, whose centre lies left of the body's centre, leaves the liver when the
/// median of its parenchyma-like tissue (within 2 SD of the liver's mode, 3 mm in from its edge:
/// vessels and lesions do not pull it) lies `minimumBrighterHU` or more above the liver's mode
/// and less than 2 SD above it. On the spleen-contact phantoms the spleen's part reads 8-9 HU
/// brighter; left lobes and other parts of the liver read within 1 HU.
enum Neighbours {
    static let coreDepthMM = 20.0
    static let minimumPartML = 20.0
    static let minimumBrighterHU: Float = 6

    /// Removes such parts from `liver`; returns the mL removed.
    static func remove(from liver: inout Mask, smooth: Volume<Float>, body: Mask, modeHU: Float, robustSDHU: Float) -> Double {
        let g = liver.geometry, d = g.dims
        let cores = components(of: Filters.erode(liver, radiusMM: coreDepthMM), connectivity: .faces6).voxels.sorted { $0.count > $1.count }
        guard cores.count >= 2 else { return 0 }
        // A geodesic partition: each liver voxel goes to the core it reaches first within the
        // liver, so the parts meet at the waists between the cores.
        var owner = [Int32](repeating: -1, count: liver.voxels.count)
        var queue: [Int] = []
        for (n, c) in cores.enumerated() { for v in c { owner[v] = Int32(n); queue.append(v) } }
        var head = 0
        while head < queue.count {
            let v = queue[head]
            head += 1
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            for (inside, w) in [(i > 0, v - 1), (i + 1 < d.x, v + 1), (j > 0, v - d.x), (j + 1 < d.y, v + d.x), (k > 0, v - d.sliceCount), (k + 1 < d.z, v + d.sliceCount)]
            where inside && liver.voxels[w] != 0 && owner[w] < 0 {
                owner[w] = owner[v]
                queue.append(w)
            }
        }
        let centreX = LiverSegmenter.bodyCentreMM(body)?.x ?? 0
        var removed = 0
        for n in 1..<cores.count {
            var part = Mask(repeating: 0, geometry: g)
            var count = 0, sumX = 0.0
            for v in 0..<owner.count where owner[v] == Int32(n) {
                part.voxels[v] = 1
                count += 1
                sumX += LiverSegmenter.x(of: v, g)
            }
            guard Double(count) * g.voxelVolumeMM3 / 1000 >= minimumPartML, sumX / Double(count) > centreX else { continue }
            var values: [Float] = []
            let inner = Filters.erode(part, radiusMM: 3)
            for v in 0..<inner.voxels.count where inner.voxels[v] != 0 && abs(smooth.voxels[v] - modeHU) <= 2 * robustSDHU { values.append(smooth.voxels[v]) }
            guard values.count >= 50 else { continue }
            values.sort()
            let brighter = values[values.count / 2] - modeHU
            guard brighter >= minimumBrighterHU && brighter < 2 * robustSDHU else { continue }
            for v in 0..<owner.count where owner[v] == Int32(n) { liver.voxels[v] = 0 }
            removed += count
        }
        if removed > 0 { liver = Filters.largestComponent(liver) }
        return Double(removed) * g.voxelVolumeMM3 / 1000
    }
}
