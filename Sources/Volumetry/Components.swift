import VolumeModel

/// Which neighbours touch: the 6 that share a face, or all 26 that share a face, edge or corner.
public enum Connectivity: String, Sendable, Codable {
    case faces6 = "faces_6"
    case full26 = "full_26"

    var offsets: [(Int, Int, Int)] {
        var out: [(Int, Int, Int)] = []
        for dk in -1...1 { for dj in -1...1 { for di in -1...1 {
            let n = abs(di) + abs(dj) + abs(dk)
            if n == 0 { continue }
            if self == .faces6 && n > 1 { continue }
            out.append((di, dj, dk))
        } } }
        return out
    }
}

/// Connected components of a mask, numbered by size, largest first (ties by first voxel in
/// storage order): `voxels[c - 1]` lists component c's voxel offsets in storage order.
public struct Components: Sendable {
    public var geometry: Geometry
    public var voxels: [[Int]]
    public var count: Int { voxels.count }

    /// 0 outside, component number inside (numbers above 65535 are shown as 65535).
    public var labels: Volume<UInt16> {
        var out = Volume<UInt16>(repeating: 0, geometry: geometry)
        for (n, g) in voxels.enumerated() { for v in g { out.voxels[v] = UInt16(min(n + 1, 65535)) } }
        return out
    }
}

/// Labels the connected components of `mask` (non-zero voxels) by flood fill.
/// `sortedVoxels: false` leaves each component's voxels in discovery order (the first is still the
/// smallest index, so the components' order is the same): faster where the order does not matter.
public func components(of mask: Mask, connectivity: Connectivity = .full26, sortedVoxels: Bool = true) -> Components {
    struct Lists: ComponentSink {
        var sorted: Bool
        var groups: [[Int]] = []
        var group: [Int] = []
        mutating func voxel(_ v: Int) { group.append(v) }
        mutating func end() {
            if sorted { group.sort() }
            groups.append(group)
            group = []
        }
    }
    var lists = Lists(sorted: sortedVoxels)
    floodComponents(mask, connectivity, into: &lists)
    lists.groups.sort { $0.count != $1.count ? $0.count > $1.count : $0[0] < $1[0] }
    return Components(geometry: mask.geometry, voxels: lists.groups)
}

/// The voxels of the largest component (the first in storage order on ties, as `components(of:)`
/// orders them), without listing the others: one pass counts, a second collects.
public func largestComponentVoxels(of mask: Mask, connectivity: Connectivity = .full26) -> [Int] {
    struct Sizes: ComponentSink {
        var sizes: [Int] = [], size = 0
        mutating func voxel(_ v: Int) { size += 1 }
        mutating func end() { sizes.append(size); size = 0 }
    }
    struct Pick: ComponentSink {
        var wanted: Int, index = 0, out: [Int] = []
        mutating func voxel(_ v: Int) { if index == wanted { out.append(v) } }
        mutating func end() { index += 1 }
    }
    var sizes = Sizes()
    floodComponents(mask, connectivity, into: &sizes)
    let s = sizes.sizes
    guard let best = s.indices.max(by: { s[$0] < s[$1] || (s[$0] == s[$1] && $0 > $1) }) else { return [] }
    var pick = Pick(wanted: best)
    pick.out.reserveCapacity(s[best])
    floodComponents(mask, connectivity, into: &pick)
    return pick.out
}

/// What a flood fill reports: each voxel of a component (the first is its lowest index), then its end.
protocol ComponentSink {
    mutating func voxel(_ v: Int)
    mutating func end()
}

/// Flood fill over every component in order of first voxel (storage order). One byte per voxel
/// of bookkeeping; the sink is generic so the calls inline.
@inline(__always)
func floodComponents<Sink: ComponentSink>(_ mask: Mask, _ connectivity: Connectivity, into sink: inout Sink) {
    let d = mask.dims
    let nx = d.x, ny = d.y, nz = d.z, nxy = nx * ny
    var seen = [Bool](repeating: false, count: d.count)
    let offsets = connectivity.offsets, faces = connectivity == .faces6
    var stack: [Int] = []
    mask.voxels.withUnsafeBufferPointer { m in
        seen.withUnsafeMutableBufferPointer { s in
            for start in 0..<m.count where m[start] != 0 && !s[start] {
                s[start] = true
                stack.append(start)
                while let v = stack.popLast() {
                    sink.voxel(v)
                    let i = v % nx, r = v / nx, j = r % ny, k = r / ny
                    if faces {
                        // The six face neighbours by index arithmetic (most of the work in segmentation).
                        if i > 0, m[v - 1] != 0, !s[v - 1] { s[v - 1] = true; stack.append(v - 1) }
                        if i + 1 < nx, m[v + 1] != 0, !s[v + 1] { s[v + 1] = true; stack.append(v + 1) }
                        if j > 0, m[v - nx] != 0, !s[v - nx] { s[v - nx] = true; stack.append(v - nx) }
                        if j + 1 < ny, m[v + nx] != 0, !s[v + nx] { s[v + nx] = true; stack.append(v + nx) }
                        if k > 0, m[v - nxy] != 0, !s[v - nxy] { s[v - nxy] = true; stack.append(v - nxy) }
                        if k + 1 < nz, m[v + nxy] != 0, !s[v + nxy] { s[v + nxy] = true; stack.append(v + nxy) }
                    } else {
                        for (di, dj, dk) in offsets {
                            let a = i + di, b = j + dj, c = k + dk
                            if a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz { continue }
                            let w = a + nx * (b + ny * c)
                            if m[w] != 0 && !s[w] { s[w] = true; stack.append(w) }
                        }
                    }
                }
                sink.end()
            }
        }
    }
}
