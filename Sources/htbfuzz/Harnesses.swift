import DicomIO
import Foundation
import NIfTI
import VolumeModel

/// The readers htb exposes to files from anywhere, as fuzz harnesses: each takes the bytes of one
/// file and must end in a value or a thrown error, never a crash, a hang or a sanitizer report.
/// Built with libFuzzer (`make fuzz`, `-D FUZZING`) they run under it; built plainly they replay
/// files (`htbfuzz HARNESS FILE...`, what the regression test does).
enum Harness: String, CaseIterable {
    /// A DICOM file's header, its pixels decoded, and the series path (inventory, layout, load).
    case dicom
    /// A DICOM Segmentation: its segments and frames, laid on the grid it describes.
    case seg
    /// A NIfTI-1 file (.nii, or gzip-compressed): header, voxels, a mask from it.
    case nifti

    /// Where inputs are written for the readers, which take paths (one folder per process).
    static let folder: String = {
        let dir = NSTemporaryDirectory() + "htbfuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    func run(_ bytes: UnsafeRawBufferPointer) {
        let name =
            self != .nifti
            ? "/in.dcm"
            : bytes.starts(with: Array("NRRD".utf8))
                ? "/in.nrrd" : bytes.starts(with: [0x1F, 0x8B]) ? "/in.nii.gz" : "/in.nii"
        let path = Self.folder + name
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return }
        switch self {
        case .dicom:
            guard let h = try? SliceHeader.read(path: path) else { return }
            // Pixels only within what a CT slice can hold (a header may claim anything).
            if h.rows * h.columns * max(1, h.numberOfFrames) <= 4096 * 4096 {
                _ = try? SeriesLoader.pixelBytes(of: h)
                // A multi-frame image's frames from its functional groups, and its last frame alone.
                if let frames = try? SliceHeader.images(path: path), frames.count > 1, let last = frames.last {
                    _ = try? SeriesLoader.pixelBytes(of: last)
                }
            }
            // The series path needs two slices: a second file, the input one slice further along
            // its normal under another SOP Instance UID (written by htb's own DICOM writer).
            var files = [path]
            if let f = try? DicomFile(path: path, headersOnly: false), let p = h.imagePositionMM,
                let o = h.orientation
            {
                let n = o.row.cross(o.column)
                let q = p + n * 2.5
                let second = Self.folder + "/second.dcm"
                if (try? f.set(.imagePositionPatient, "\(q.x)\\\(q.y)\\\(q.z)")) != nil,
                    (try? f.set(.sopInstanceUID, h.sopInstanceUID + ".2")) != nil,
                    (try? f.save(to: second)) != nil
                {
                    files.append(second)
                }
            }
            let inventory = Inventory.scan(files: files, root: Self.folder)
            for entry in inventory.series {
                if let layout = try? SeriesLayout(entry: entry), layout.geometry.dims.count <= 1 << 24 {
                    _ = try? SeriesLoader.loadCT(entry, requireCT: false)
                }
            }
        case .seg:
            guard let seg = try? Segmentation.read(path: path) else { return }
            _ = seg.segments.map(\.label)
        case .nifti:
            // NIfTI-1 (with its label-name extensions) or NRRD (with 3D Slicer's segment names).
            guard
                let image = try? (name == "/in.nrrd" ? NIfTIImage.readNRRD(path: path) : NIfTIImage.read(path: path))
            else { return }
            _ = image.mask(label: image.labelNames.keys.min()).insideCount
        }
    }
}
