/// Why a mask cannot be laid on an image.
public enum MaskError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The mask's voxels do not coincide with the image's; `mismatchMM` is the largest measured
    /// distance between corresponding voxel centres, when one could be measured.
    case offGrid(mask: String, detail: String, mismatchMM: Double?)
    case frameOfReferenceMismatch(mask: String, maskUID: String, imageUID: String)
    case segmentNotFound(mask: String, selector: String, available: [String])
    case segmentRequired(mask: String, available: [String])
    case unreadable(mask: String, reason: String)

    public var description: String {
        switch self {
        case .offGrid(let m, let d, let mm):
            return "\(m): not on the CT's grid: \(d)"
                + (mm.map { String(format: " (measured mismatch %.3f mm)", $0) } ?? "")
        case .frameOfReferenceMismatch(let m, let a, let b):
            return
                "\(m): Frame of Reference UID \(a) differs from the CT's \(b): the mask belongs to another study or registration"
        case .segmentNotFound(let m, let s, let a):
            return "\(m): no segment '\(s)'; segments: \(a.joined(separator: ", "))"
        case .segmentRequired(let m, let a):
            return
                "\(m): holds several segments; choose one or more as \(m):LABEL or \(m):NUMBER[,NUMBER]; segments: \(a.joined(separator: ", "))"
        case .unreadable(let m, let r): return "\(m): \(r)"
        }
    }
}

/// Tolerance for "the same grid": 0.05 mm between corresponding voxel centres. Well under a tenth
/// of any clinical voxel (>= 0.5 mm), so no mask can slip by a voxel, and loose enough for
/// float32 NIfTI affines and the 6 decimals of DICOM DS values.
public let maskGridToleranceMM = 0.05

extension Volume {
    /// The same voxels laid onto `target`, when both grids hold the same voxel centres up to the
    /// order and direction of the axes (a NIfTI written with flipped rows, say). Throws `offGrid`
    /// with the measured mismatch otherwise.
    public func aligned(onto target: Geometry, name: String, toleranceMM: Double = maskGridToleranceMM) throws
        -> Volume<Voxel>
    {
        let src = geometry
        if src.matches(target, toleranceMM: toleranceMM) { return Volume(voxels: voxels, geometry: target) }
        let srcAxes = [src.axes.0, src.axes.1, src.axes.2], tgtAxes = [target.axes.0, target.axes.1, target.axes.2]
        let srcDims = [src.dims.x, src.dims.y, src.dims.z], tgtDims = [target.dims.x, target.dims.y, target.dims.z]
        let srcSp = [src.spacingMM.x, src.spacingMM.y, src.spacingMM.z],
            tgtSp = [target.spacingMM.x, target.spacingMM.y, target.spacingMM.z]
        var perm = [Int](repeating: -1, count: 3), sign = [Int](repeating: 1, count: 3)
        for a in 0..<3 {
            guard let b = (0..<3).first(where: { abs(abs(srcAxes[a].dot(tgtAxes[$0])) - 1) < 1e-3 }) else {
                throw MaskError.offGrid(
                    mask: name, detail: "axis \(a) of the mask, \(srcAxes[a]), is parallel to no axis of the CT",
                    mismatchMM: nil)
            }
            guard srcDims[a] == tgtDims[b], abs(srcSp[a] - tgtSp[b]) * Double(max(1, srcDims[a] - 1)) <= toleranceMM
            else {
                throw MaskError.offGrid(
                    mask: name,
                    detail:
                        "mask is \(src.dims) voxels of \(src.spacingMM) mm, CT is \(target.dims) of \(target.spacingMM) mm",
                    mismatchMM: src.cornerMismatchMM(target))
            }
            perm[a] = b
            sign[a] = srcAxes[a].dot(tgtAxes[b]) > 0 ? 1 : -1
        }
        guard Set(perm).count == 3 else {
            throw MaskError.offGrid(
                mask: name, detail: "mask axes do not map one-to-one onto the CT's", mismatchMM: nil)
        }
        // Where each source corner lands in the target, and how far off it is.
        func targetIndex(_ i: [Int]) -> [Int] {
            var t = [0, 0, 0]
            for a in 0..<3 { t[perm[a]] = sign[a] > 0 ? i[a] : tgtDims[perm[a]] - 1 - i[a] }
            return t
        }
        var worst = 0.0
        for ck in [0, srcDims[2] - 1] {
            for cj in [0, srcDims[1] - 1] {
                for ci in [0, srcDims[0] - 1] {
                    let t = targetIndex([ci, cj, ck])
                    let d =
                        (src.positionMM(Double(ci), Double(cj), Double(ck))
                        - target.positionMM(Double(t[0]), Double(t[1]), Double(t[2]))).length
                    worst = max(worst, d)
                }
            }
        }
        guard worst <= toleranceMM else {
            throw MaskError.offGrid(mask: name, detail: "same lattice shape but displaced", mismatchMM: worst)
        }
        var out = voxels  // storage of the right size; every element is overwritten below
        let nx = tgtDims[0], ny = tgtDims[1]
        // Strides in the target for a unit step along each source axis.
        var stride = [0, 0, 0], base = 0
        let tgtStride = [1, nx, nx * ny]
        for a in 0..<3 {
            stride[a] = sign[a] * tgtStride[perm[a]]
            if sign[a] < 0 { base += (tgtDims[perm[a]] - 1) * tgtStride[perm[a]] }
        }
        var s = 0
        for k in 0..<srcDims[2] {
            for j in 0..<srcDims[1] {
                var t = base + j * stride[1] + k * stride[2]
                for _ in 0..<srcDims[0] {
                    out[t] = voxels[s]
                    s += 1
                    t += stride[0]
                }
            }
        }
        return Volume(voxels: out, geometry: target)
    }
}
