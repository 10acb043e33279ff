import VolumeModel

/// Which neighbours touch: the 6 that share a face, or all 26 that share a face, edge or corner.
public enum Connectivity: String, Sendable, Codable {
    case faces6 = "faces_6"
    case full26 = "full_26"
}

/// Connected components of a mask, numbered by size, largest first (ties by first voxel in
/// storage order): `voxels[c - 1]` lists component c's voxel offsets in storage order.
public struct Components: Sendable {
    public var geometry: Geometry
    public var voxels: [[Int]]
    public var count: Int { voxels.count }

    /// The index (0-based) of the component holding voxel `v`, or nil: a binary search of each
    /// component's voxels (they come in storage order), no grid-sized label volume.
    public func index(holding v: Int) -> Int? {
        voxels.firstIndex { c in
            var lo = 0, hi = c.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if c[mid] < v { lo = mid + 1 } else { hi = mid }
            }
            return lo < c.count && c[lo] == v
        }
    }

    /// 0 outside, component number inside (numbers above 65535 are shown as 65535).
    public var labels: Volume<UInt16> {
        var out = Volume<UInt16>(repeating: 0, geometry: geometry)
        for (n, g) in voxels.enumerated() { for v in g { out.voxels[v] = UInt16(min(n + 1, 65535)) } }
        return out
    }
}

/// Labels the connected components of `mask` (non-zero voxels); each component's voxels come in
/// storage order.
public func components(of mask: Mask, connectivity: Connectivity = .full26) -> Components {
    let runs = RunComponents(mask, connectivity)
    var groupOfRoot = [Int32](repeating: -1, count: runs.count)
    var groups: [[Int]] = []
    for r in 0..<runs.count where runs.root[r] == r {
        groupOfRoot[r] = Int32(groups.count)
        groups.append([])
        groups[groups.count - 1].reserveCapacity(runs.size[r])
    }
    for r in 0..<runs.count {
        let g = Int(groupOfRoot[Int(runs.root[r])])
        groups[g].append(contentsOf: runs.start[r]..<runs.start[r] + Int(runs.length[r]))
    }
    groups.sort { $0.count != $1.count ? $0.count > $1.count : $0[0] < $1[0] }
    return Components(geometry: mask.geometry, voxels: groups)
}

/// The voxels of the largest component (the first in storage order on ties, as `components(of:)`
/// orders them), in storage order, without listing the others.
public func largestComponentVoxels(of mask: Mask, connectivity: Connectivity = .full26) -> [Int] {
    let runs = RunComponents(mask, connectivity)
    var best = -1
    // Roots are each component's first run, so scanning them in order breaks ties by first voxel.
    for r in 0..<runs.count where runs.root[r] == r && (best < 0 || runs.size[r] > runs.size[best]) { best = r }
    guard best >= 0 else { return [] }
    var out: [Int] = []
    out.reserveCapacity(runs.size[best])
    for r in best..<runs.count where runs.root[r] == best {
        out.append(contentsOf: runs.start[r]..<runs.start[r] + Int(runs.length[r]))
    }
    return out
}

/// Connected components by runs: the mask's runs of inside voxels along x, in storage order,
/// joined by union-find where they touch a run of the previous row or slice (overlapping in x
/// for face connectivity; within one voxel, and on the diagonal rows too, for full connectivity).
/// A run's root is its component's first run; `size` holds each root's voxel count.
struct RunComponents {
    var start: [Int] = []
    var length: [Int32] = []
    var root: [Int32] = []
    var size: [Int] = []
    var count: Int { start.count }

    init(_ mask: Mask, _ connectivity: Connectivity) {
        let d = mask.dims
        let nx = d.x, rows = d.y * d.z
        var rowFirst = [Int](repeating: 0, count: rows + 1)
        mask.voxels.withUnsafeBufferPointer { m in
            for row in 0..<rows {
                rowFirst[row] = start.count
                let base = row * nx
                var i = 0
                while i < nx {
                    if m[base + i] == 0 {
                        i += 1
                        continue
                    }
                    let s = i
                    while i < nx && m[base + i] != 0 { i += 1 }
                    start.append(base + s)
                    length.append(Int32(i - s))
                }
            }
        }
        rowFirst[rows] = start.count
        var parent = [Int32](repeating: 0, count: start.count)
        for r in 0..<parent.count { parent[r] = Int32(r) }
        let full = connectivity == .full26, tolerance = full ? 1 : 0
        parent.withUnsafeMutableBufferPointer { p in
            func find(_ a: Int) -> Int {
                var a = a
                while Int(p[a]) != a {
                    p[a] = p[Int(p[a])]
                    a = Int(p[a])
                }
                return a
            }
            func join(_ row: Int, _ other: Int) {
                var a = rowFirst[row], b = rowFirst[other]
                let aEnd = rowFirst[row + 1], bEnd = rowFirst[other + 1]
                let aBase = row * nx, bBase = other * nx
                while a < aEnd && b < bEnd {
                    let sa = start[a] - aBase, ea = sa + Int(length[a]) - 1
                    let sb = start[b] - bBase, eb = sb + Int(length[b]) - 1
                    if ea + tolerance < sb {
                        a += 1
                        continue
                    }
                    if eb + tolerance < sa {
                        b += 1
                        continue
                    }
                    let ra = find(a), rb = find(b)
                    if ra != rb { if ra < rb { p[rb] = Int32(ra) } else { p[ra] = Int32(rb) } }
                    if ea < eb { a += 1 } else { b += 1 }
                }
            }
            for row in 0..<rows where rowFirst[row] < rowFirst[row + 1] {
                let j = row % d.y, k = row / d.y
                if j > 0 { join(row, row - 1) }
                if k > 0 {
                    join(row, row - d.y)
                    if full {
                        if j > 0 { join(row, row - d.y - 1) }
                        if j + 1 < d.y { join(row, row - d.y + 1) }
                    }
                }
            }
            for r in 0..<p.count { p[r] = Int32(find(r)) }
        }
        root = parent
        size = [Int](repeating: 0, count: start.count)
        for r in 0..<start.count { size[Int(root[r])] += Int(length[r]) }
    }
}
