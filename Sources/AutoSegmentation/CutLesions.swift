import Filters
import Foundation
import VolumeModel
import Volumetry

/// Hyper-enhancing lesions that the liver's outline cut: the rest of the mass taken back.
///
/// The liver step's band stops below a hyper-enhancing lesion's density, so where such a lesion
/// reaches the liver's surface the outline runs through it and the part beyond is lost with its
/// share of HTB (measured per truth lesion on sweep seeds 1-8: 22-55 % of 100-200 mL lesions on
/// the lobes' posterior and inferior surfaces). A lesion is one solid mass of one tissue, so the
/// part beyond the cut continues the found part at the found part's own density and meets it
/// over the cut, a broad face; a neighbour of similar density (the kidney's cortex, a vessel,
/// bowel wall) merely touches it. So, for each lesion at least 0.5 mL whose median lies above the
/// parenchyma's mode by max(3 SD, 15 HU):
///
/// 1. tissue outside the liver within the lesion's band: from half way between the parenchyma's
///    mode and the lesion's median (where a blurred edge crosses) to the median plus its
///    contrast again (arteries stay out), never the IVC's discs nor the right kidney (the left
///    kidney's mirror image fitted in that band, `Kidneys.rightImage`, looked for once a lesion
///    grows: the right kidney lies against the liver at a bright lesion's density);
/// 2. grown from the lesion's faces through that tissue no farther (geodesically, in mm) than the
///    lesion's own radius (its equivalent sphere's): the part beyond a cut is smaller than the
///    mass;
/// 3. opened by one voxel, keeping what lies within two voxels of the lesion (thin bridges to a
///    neighbour are cut), with the first layer on the lesion kept;
/// 4. each piece left joins the lesion and the liver when it meets the lesion over at least
///    `minimumContact` of its boundary (a hemisphere's cut face is a third of its surface).
///
/// Hypodense lesions are not extended here: the abdominal wall's muscle and bowel lie in their
/// band all along the surface (the same growth from dark lesions took 2.4 voxels of neighbour for
/// each voxel of lesion on seeds 1-8); the surface and exophytic steps handle them by shape.
enum CutLesions {
    /// Lesions smaller than this are left as found (a cut small lesion is a fraction of a mL).
    static let minimumLesionML = 0.5
    /// A piece joins when this share of its boundary faces the lesion.
    static let minimumContact = 0.2

    /// Extends the cut hyper-enhancing lesions in place (on the segmentation's grid); `excluded`
    /// is tissue that may not be taken (the IVC's discs). Returns the mL added.
    static func include(
        smooth: Volume<Float>, body: Mask, liver: inout Mask, lesions: inout Mask, modeHU: Float, robustSDHU: Float,
        excluded: Mask?
    ) -> Double {
        let g = liver.geometry, d = g.dims
        let minimumVoxels = minimumLesionML * 1000 / g.voxelVolumeMM3
        let minimumContrast = max(3 * robustSDHU, 15)
        var added = 0
        var rightKidney: Mask? = nil, kidneyUnknown = true
        let found = components(of: lesions, connectivity: .faces6).voxels
        for c in found where Double(c.count) >= minimumVoxels {
            let median = Filters.median(c.map { smooth.voxels[$0] })
            let contrast = median - modeHU
            guard contrast >= minimumContrast else { continue }
            let radiusMM = pow(3 * Double(c.count) * g.voxelVolumeMM3 / (4 * Double.pi), 1.0 / 3)
            guard
                let box = VoxelBox.enclosing(c, in: d)?.expanded(
                    byMM: radiusMM + 2 * max(g.spacingMM.x, g.spacingMM.y, g.spacingMM.z), in: g)
            else { continue }
            let lo = modeHU + contrast / 2, hi = median + contrast
            let localLiver = liver.cropped(to: box), localBody = body.cropped(to: box)
            let localSmooth = smooth.cropped(to: box), localIVC = excluded?.cropped(to: box)
            var lesion = Mask(repeating: 0, geometry: localLiver.geometry)
            for v in c { lesion.voxels[box.local(v, in: d)] = 1 }
            func grow() -> Mask {
                let kidney = rightKidney?.cropped(to: box)
                var allowed = lesion
                for l in 0..<allowed.voxels.count {
                    let hu = localSmooth.voxels[l]
                    let free = localLiver.voxels[l] == 0 && localBody.voxels[l] != 0
                    let taken = (localIVC?.voxels[l] ?? 0) != 0 || (kidney?.voxels[l] ?? 0) != 0
                    allowed.voxels[l] = free && !taken && hu >= lo && hu <= hi ? 1 : 0
                }
                let grown = geodesicGrowth(from: lesion, within: allowed, reachMM: radiusMM)
                return pieces(opening(grown, lesion: lesion), lesion: lesion)
            }
            var kept = grow()
            // The right kidney lies against the liver's posterior-inferior surface at a bright
            // lesion's density in most phases: found once, from the left one, when a lesion grows.
            if kidneyUnknown && kept.insideCount > 0 {
                kidneyUnknown = false
                rightKidney = Kidneys.rightImage(
                    band: Filters.band(smooth, lo: lo, hi: hi, within: body), liver: liver, body: body)
                if rightKidney != nil { kept = grow() }
            }
            for l in 0..<kept.voxels.count where kept.voxels[l] != 0 {
                let v = box.global(l, in: d)
                guard liver.voxels[v] == 0 else { continue }
                liver.voxels[v] = 1
                lesions.voxels[v] = 1
                added += 1
            }
        }
        return Double(added) * g.voxelVolumeMM3 / 1000
    }

    /// The `within` voxels reachable from the lesion's faces along paths of face steps inside
    /// `within` no longer than `reachMM` (Dijkstra; steps of the grid's spacing).
    static func geodesicGrowth(from seed: Mask, within: Mask, reachMM: Double) -> Mask {
        let d = seed.dims, s = seed.geometry.spacingMM
        let moves = [(-1, 0, 0, s.x), (1, 0, 0, s.x), (0, -1, 0, s.y), (0, 1, 0, s.y), (0, 0, -1, s.z), (0, 0, 1, s.z)]
        var distance = [Double](repeating: .infinity, count: d.count)
        var heap = MinHeap()
        func relax(from v: Int, at dist: Double) {
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            for (di, dj, dk, mm) in moves {
                let a = i + di, b = j + dj, c = k + dk
                guard a >= 0, a < d.x, b >= 0, b < d.y, c >= 0, c < d.z else { continue }
                let n = a + d.x * (b + d.y * c), next = dist + mm
                if within.voxels[n] != 0 && next <= reachMM && next < distance[n] {
                    distance[n] = next
                    heap.push(next, n)
                }
            }
        }
        // The lesion's face neighbours, across the cut face, start at 0.
        for v in 0..<d.count where seed.voxels[v] != 0 {
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            for (di, dj, dk, _) in moves {
                let a = i + di, b = j + dj, c = k + dk
                guard a >= 0, a < d.x, b >= 0, b < d.y, c >= 0, c < d.z else { continue }
                let n = a + d.x * (b + d.y * c)
                if within.voxels[n] != 0 && distance[n] > 0 {
                    distance[n] = 0
                    heap.push(0, n)
                }
            }
        }
        while let (dist, v) = heap.pop() {
            guard dist <= distance[v] else { continue }
            relax(from: v, at: dist)
        }
        var out = Mask(repeating: 0, geometry: seed.geometry)
        for v in 0..<d.count where distance[v].isFinite { out.voxels[v] = 1 }
        return out
    }

    /// Face neighbours of `v` inside the grid.
    private static func neighbours(_ v: Int, _ d: Dims) -> [Int] {
        let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
        var out: [Int] = []
        if i > 0 { out.append(v - 1) }
        if i + 1 < d.x { out.append(v + 1) }
        if j > 0 { out.append(v - d.x) }
        if j + 1 < d.y { out.append(v + d.x) }
        if k > 0 { out.append(v - d.sliceCount) }
        if k + 1 < d.z { out.append(v + d.sliceCount) }
        return out
    }

    /// Step 3: the grown tissue eroded by one face step; eroded parts within two voxels of the
    /// lesion kept and dilated back by one step within the grown tissue; the grown layer on the
    /// lesion kept as it is.
    static func opening(_ grown: Mask, lesion: Mask) -> Mask {
        let d = grown.dims
        var eroded = grown
        for v in 0..<d.count where grown.voxels[v] != 0 {
            let n = neighbours(v, d)
            if n.count < 6 || n.contains(where: { grown.voxels[$0] == 0 }) { eroded.voxels[v] = 0 }
        }
        // Within two face steps of the lesion.
        var near = lesion
        for _ in 0..<2 {
            var next = near
            for v in 0..<d.count where near.voxels[v] != 0 { for n in neighbours(v, d) { next.voxels[n] = 1 } }
            near = next
        }
        var out = Mask(repeating: 0, geometry: grown.geometry)
        for part in components(of: eroded, connectivity: .faces6).voxels
        where part.contains(where: { near.voxels[$0] != 0 }) {
            for v in part {
                out.voxels[v] = 1
                for n in neighbours(v, d) where grown.voxels[n] != 0 { out.voxels[n] = 1 }
            }
        }
        for v in 0..<d.count
        where grown.voxels[v] != 0 && neighbours(v, d).contains(where: { lesion.voxels[$0] != 0 }) {
            out.voxels[v] = 1
        }
        return out
    }

    /// Step 4: the face-connected pieces that meet the lesion over `minimumContact` of their
    /// boundary (`SurfaceLesions.contact`).
    static func pieces(_ region: Mask, lesion: Mask) -> Mask {
        var out = Mask(repeating: 0, geometry: region.geometry)
        for part in components(of: region, connectivity: .faces6).voxels {
            var piece = Mask(repeating: 0, geometry: region.geometry)
            for v in part { piece.voxels[v] = 1 }
            guard SurfaceLesions.contact(piece, with: lesion) >= minimumContact else { continue }
            for v in part { out.voxels[v] = 1 }
        }
        return out
    }
}

/// A binary min-heap of (distance, voxel) for Dijkstra.
struct MinHeap {
    private var items: [(Double, Int)] = []
    mutating func push(_ key: Double, _ value: Int) {
        items.append((key, value))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard items[p].0 > items[i].0 else { break }
            items.swapAt(p, i)
            i = p
        }
    }
    mutating func pop() -> (Double, Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l].0 < items[m].0 { m = l }
                if r < items.count && items[r].0 < items[m].0 { m = r }
                guard m != i else { break }
                items.swapAt(m, i)
                i = m
            }
        }
        return top
    }
}
