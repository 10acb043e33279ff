import Filters
import Foundation
import VolumeModel
import Volumetry

/// Neighbour organs joined to the liver step's outline through a waist: the spleen against the
/// left lobe's tip, the heart's wall over the dome. Each organ enhances in its own way, so a
/// lobe of the outline whose parenchyma-like tissue is brighter than the liver's by more than
/// the noise of a median is another organ: the spleen is brighter than the liver in the arterial
/// and portal phases, the myocardium in the portal and delayed ones. (Unenhanced, the spleen is
/// darker than the liver: not found here.)
///
/// Two passes: parts behind a waist (`removeParts`), then brighter tissue where the contact is
/// broad (`removeBrighterTissue`).
///
/// The outline's cores (eroded by `coreDepthMM`: the waists between organs are thinner than
/// 40 mm, the right lobe and a spleen are thicker) partition it, each voxel going to the core it
/// reaches first within the outline. A part other than the largest core's, of at least
/// `minimumPartML`, whose centre lies left of the body's centre, leaves the liver when the
/// median of its parenchyma-like tissue (within 2 SD of the liver's mode, 3 mm in from its edge,
/// so vessels, lesions and partial volume do not pull it) lies `minimumBrighterHU` or more above
/// the liver's mode. The SD is the parenchyma's own (its histogram peak's width inside the
/// outline, at least 5 HU), not the liver step's band SD: a band widened by leaked muscle or
/// spleen (a fatty liver's: 26-29 HU against 10-13 HU for the peak) would let a part of liver
/// with a bright lesion's partial volume pass. The stage does nothing when the liver step's
/// mode is implausible for parenchyma (the outline is then not the liver). On the spleen-contact
/// phantoms the spleen's part reads 8-9 HU brighter; left lobes and other parts of the liver
/// read within 1 HU.
enum Neighbours {
    static let coreDepthMM = 20.0
    static let minimumPartML = 20.0
    static let minimumBrighterHU: Float = 6

    /// Removes such parts from `liver`; returns the mL removed.
    static func remove(from liver: inout Mask, smooth: Volume<Float>, body: Mask, modeHU: Float) -> Double {
        // The parenchyma's own spread: its histogram peak's width inside the liver (the band's MAD
        // is widened by whatever leaked in); a mode no parenchyma has means the outline is not liver.
        guard AutoSegmentation.plausibleParenchymaHU.contains(Double(modeHU)),
            let (_, peakSD) = Filters.mode(
                smooth, within: Filters.erode(liver, radiusMM: 3), lo: -50, hi: 250, peakWidthOnly: true)
        else { return 0 }
        let parenchymaSDHU = max(peakSD, 5)
        let centreX = LiverSegmenter.bodyCentreMM(body)?.x ?? 0
        var removed = removeParts(
            from: &liver, smooth: smooth, centreX: centreX, modeHU: modeHU, parenchymaSDHU: parenchymaSDHU)
        removed += removeBrighterTissue(
            from: &liver, smooth: smooth, centreX: centreX, modeHU: modeHU, parenchymaSDHU: parenchymaSDHU)
        return Double(removed) * liver.geometry.voxelVolumeMM3 / 1000
    }

    /// The waist partition (see the type's comment); voxels removed, with what the largest
    /// component then leaves.
    static func removeParts(
        from liver: inout Mask, smooth: Volume<Float>, centreX: Double, modeHU: Float, parenchymaSDHU: Float
    ) -> Int {
        let g = liver.geometry, d = g.dims
        let cores = components(of: Filters.erode(liver, radiusMM: coreDepthMM), connectivity: .faces6).voxels.sorted {
            $0.count > $1.count
        }
        guard cores.count >= 2 else { return 0 }
        // A geodesic partition: each liver voxel goes to the core it reaches first within the
        // liver, so the parts meet at the waists between the cores.
        var owner = [Int32](repeating: -1, count: liver.voxels.count)
        var queue: [Int] = []
        for (n, c) in cores.enumerated() {
            for v in c {
                owner[v] = Int32(n)
                queue.append(v)
            }
        }
        var head = 0
        while head < queue.count {
            let v = queue[head]
            head += 1
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            for (inside, w) in [
                (i > 0, v - 1), (i + 1 < d.x, v + 1), (j > 0, v - d.x), (j + 1 < d.y, v + d.x),
                (k > 0, v - d.sliceCount), (k + 1 < d.z, v + d.sliceCount),
            ]
            where inside && liver.voxels[w] != 0 && owner[w] < 0 {
                owner[w] = owner[v]
                queue.append(w)
            }
        }
        var removed = 0
        for n in 1..<cores.count {
            var part = Mask(repeating: 0, geometry: g)
            var count = 0, sumX = 0.0
            for v in 0..<owner.count where owner[v] == Int32(n) {
                part.voxels[v] = 1
                count += 1
                sumX += LiverSegmenter.x(of: v, g)
            }
            guard Double(count) * g.voxelVolumeMM3 / 1000 >= minimumPartML, sumX / Double(count) > centreX else {
                continue
            }
            var values: [Float] = []
            let inner = Filters.erode(part, radiusMM: 3)
            for v in 0..<inner.voxels.count
            where inner.voxels[v] != 0 && abs(smooth.voxels[v] - modeHU) <= 2 * parenchymaSDHU {
                values.append(smooth.voxels[v])
            }
            guard values.count >= 50 else { continue }
            values.sort()
            let brighter = values[values.count / 2] - modeHU
            guard brighter >= minimumBrighterHU else { continue }
            for v in 0..<owner.count where owner[v] == Int32(n) { liver.voxels[v] = 0 }
            removed += count
        }
        if removed > 0 {
            let before = liver.insideCount
            liver = Filters.largestComponent(liver)
            removed += before - liver.insideCount
        }
        return removed
    }

    /// Where the contact is too broad for a waist (9 of 12 spleen-contact phantoms): the
    /// parenchyma's enhancement level, mapped at a scale well above the noise. Inside the outline,
    /// tissue farther than 3 SD from the liver's mode (vessels, lesions, fat) and the 3 mm around
    /// it (partial volume) is set to the mode, and so is everything outside the outline; a Gaussian of `enhancementSigmaMM` then
    /// gives each voxel the mean enhancement of the parenchyma-like tissue around it (noise of
    /// 12 HU falls below 1 HU; vessels and lesions pull it neither way). Regions of the outline
    /// whose level lies `minimumBrighterHU` or more above the mode, of at least `minimumPartML`
    /// and centred left of the body's centre, are another organ and leave, with whatever they
    /// cut off from the liver's largest part. Voxels removed.
    static let enhancementSigmaMM = 4.0
    static let haloMM = 3.0

    static func removeBrighterTissue(
        from liver: inout Mask, smooth: Volume<Float>, centreX: Double, modeHU: Float, parenchymaSDHU: Float
    ) -> Int {
        guard let box = liver.boundingBox?.expanded(byMM: 3 * enhancementSigmaMM, in: liver.geometry) else { return 0 }
        let l = liver.cropped(to: box), sm = smooth.cropped(to: box), g = l.geometry
        // Vessels, lesions and their partial-volume halo (3 mm) are not parenchyma: without the
        // halo, the small portal branches of a normal hilum (low phantom seed 6) read 9 HU
        // brighter than the parenchyma over 49 mL and were taken out.
        var other = Mask(repeating: 0, geometry: g)
        for v in 0..<other.voxels.count where l.voxels[v] != 0 && abs(sm.voxels[v] - modeHU) > 3 * parenchymaSDHU {
            other.voxels[v] = 1
        }
        other = Filters.dilate(other, radiusMM: haloMM)
        var clamped = sm
        for v in 0..<clamped.voxels.count where l.voxels[v] == 0 || other.voxels[v] != 0 { clamped.voxels[v] = modeHU }
        let level = Filters.gaussian(clamped, sigmaMM: enhancementSigmaMM)
        var brighter = Mask(repeating: 0, geometry: g)
        for v in 0..<brighter.voxels.count where l.voxels[v] != 0 && level.voxels[v] - modeHU >= minimumBrighterHU {
            brighter.voxels[v] = 1
        }
        var out = l, removed = 0
        for c in components(of: brighter, connectivity: .faces6).voxels
        where Double(c.count) * g.voxelVolumeMM3 / 1000 >= minimumPartML {
            let meanX = c.reduce(0.0) { $0 + LiverSegmenter.x(of: $1, g) } / Double(c.count)
            guard meanX > centreX else { continue }
            for v in c { out.voxels[v] = 0 }
            removed += c.count
        }
        guard removed > 0 else { return 0 }
        out = Filters.largestComponent(out)
        let before = liver.insideCount
        liver = Mask(repeating: 0, geometry: liver.geometry).pasting(out, at: box)
        return before - liver.insideCount
    }
}
