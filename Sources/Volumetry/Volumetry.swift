import VolumeModel

public enum VolumetryError: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyLiver
    case gridMismatch(detail: String)

    public var description: String {
        switch self {
        case .emptyLiver:
            return "the liver mask (united with the lesion mask) is empty: no liver volume can be measured"
        case .gridMismatch(let d): return "liver and lesion masks are on different grids: \(d)"
        }
    }
}

/// HTB category with the thresholds of the guideline: < 50 % predicts a good response; > 75 %
/// means embolization must be staged.
public enum HTBCategory: String, Sendable, Codable {
    case below50 = "below_50"
    case from50To75 = "50_to_75"
    case above75 = "above_75"

    public init(percent: Double) {
        self = percent < 50 ? .below50 : (percent > 75 ? .above75 : .from50To75)
    }
}

/// What the liver's tissue can be, for the steps that must tell parenchyma from tumour.
public enum LiverTissue {
    /// Liver parenchyma HU that an adult liver shows in some phase: about 45-70 unenhanced (less
    /// when fatty), 60-100 arterial, 90-140 portal venous, 80-110 delayed. A liver whose most
    /// frequent value lies outside this range is most likely tumour-dominated (or the "liver" is
    /// another organ).
    public static let plausibleParenchymaHU = 50.0...160.0
}

/// One connected lesion.
public struct Lesion: Sendable {
    /// 1 = largest.
    public var id: Int
    public var voxelCount: Int
    public var volumeML: Double
    public var centroidMM: Vector3
    public var diameters: AxialDiameters
}

/// What volumetry measures from a liver mask and a lesion mask on the same grid.
public struct VolumetryResult: Sendable {
    /// Whole liver = liver mask united with the lesion mask.
    public var liverVolumeML: Double
    public var liverVoxelCount: Int
    /// Whole liver minus lesions.
    public var parenchymaVolumeML: Double
    public var lesionVolumeML: Double
    public var lesionVoxelCount: Int
    /// Lesion voxels that lie outside the liver mask (they count as liver: whole liver is the union).
    public var lesionVoxelsOutsideLiverMask: Int
    public var lesions: [Lesion]
    /// The lesions' voxels (component n = lesion id n).
    public var components: Components
    public var connectivity: Connectivity
    public var voxelVolumeMM3: Double
    /// 100 x lesion volume / whole-liver volume.
    public var htbPercent: Double
    public var category: HTBCategory
    /// `htb_below_50` (favourable predictor), `staged_embolization` (HTB > 75 %).
    public var flags: [String]
    /// Faces of the field of view the whole-liver mask touches ("first slice", "left edge", ...).
    public var liverTouchesFieldOfView: [String]
}

public enum Volumetry {
    /// Measures liver, lesions and HTB. Volumes are voxel counts x the voxel volume of the grid
    /// (spacing from Image Position (Patient), see Geometry.voxelVolumeMM3).
    public static func measure(liver: Mask, lesions: Mask, connectivity: Connectivity = .full26) throws
        -> VolumetryResult
    {
        guard liver.geometry.matches(lesions.geometry, toleranceMM: maskGridToleranceMM) else {
            let mm = liver.geometry.cornerMismatchMM(lesions.geometry)
            throw VolumetryError.gridMismatch(
                detail: "\(liver.dims) vs \(lesions.dims)" + (mm.map { ", corners \($0) mm apart" } ?? ""))
        }
        let g = liver.geometry
        var whole = liver
        var liverCount = 0, lesionCount = 0, outside = 0
        whole.voxels.withUnsafeMutableBufferPointer { w in
            lesions.voxels.withUnsafeBufferPointer { l in
                for v in 0..<w.count {
                    let inLesion = l[v] != 0
                    if inLesion {
                        lesionCount += 1
                        if w[v] == 0 { outside += 1 }
                    }
                    w[v] = (w[v] != 0 || inLesion) ? 1 : 0
                    if w[v] != 0 { liverCount += 1 }
                }
            }
        }
        guard liverCount > 0 else { throw VolumetryError.emptyLiver }
        let voxelMM3 = g.voxelVolumeMM3
        let comps = components(of: lesions, connectivity: connectivity)
        let lesionList = comps.voxels.enumerated().map { n, voxels -> Lesion in
            var si = 0.0, sj = 0.0, sk = 0.0
            let nx = g.dims.x, ny = g.dims.y
            for v in voxels {
                si += Double(v % nx)
                sj += Double((v / nx) % ny)
                sk += Double(v / (nx * ny))
            }
            let c = Double(voxels.count)
            return Lesion(
                id: n + 1, voxelCount: voxels.count, volumeML: c * voxelMM3 / 1000,
                centroidMM: g.positionMM(si / c, sj / c, sk / c),
                diameters: axialDiameters(voxels: voxels, geometry: g))
        }
        let liverML = Double(liverCount) * voxelMM3 / 1000
        let lesionML = Double(lesionCount) * voxelMM3 / 1000
        let htb = 100 * Double(lesionCount) / Double(liverCount)
        let category = HTBCategory(percent: htb)
        var flags: [String] = []
        if htb < 50 { flags.append("htb_below_50") }
        if htb > 75 { flags.append("staged_embolization") }
        return VolumetryResult(
            liverVolumeML: liverML, liverVoxelCount: liverCount,
            parenchymaVolumeML: Double(liverCount - lesionCount) * voxelMM3 / 1000,
            lesionVolumeML: lesionML, lesionVoxelCount: lesionCount,
            lesionVoxelsOutsideLiverMask: outside, lesions: lesionList, components: comps, connectivity: connectivity,
            voxelVolumeMM3: voxelMM3, htbPercent: htb, category: category, flags: flags,
            liverTouchesFieldOfView: facesTouched(by: whole))
    }

    /// Faces of the grid on which the mask has a voxel: a structure cut by the field of view.
    public static func facesTouched(by mask: Mask) -> [String] {
        let d = mask.dims
        var out: [String] = []
        func sliceHas(_ k: Int) -> Bool {
            let base = k * d.sliceCount
            for v in base..<(base + d.sliceCount) where mask.voxels[v] != 0 { return true }
            return false
        }
        if sliceHas(0) { out.append("first slice") }
        if d.z > 1 && sliceHas(d.z - 1) { out.append("last slice") }
        var i0 = false, i1 = false, j0 = false, j1 = false
        for k in 0..<d.z {
            for j in 0..<d.y {
                let row = d.x * (j + d.y * k)
                if mask.voxels[row] != 0 { i0 = true }
                if mask.voxels[row + d.x - 1] != 0 { i1 = true }
                if j == 0 || j == d.y - 1 {
                    for i in 0..<d.x where mask.voxels[row + i] != 0 {
                        if j == 0 { j0 = true } else { j1 = true }
                        break
                    }
                }
            }
        }
        if i0 { out.append("first column") }
        if i1 { out.append("last column") }
        if j0 { out.append("first row") }
        if j1 { out.append("last row") }
        return out
    }
}
