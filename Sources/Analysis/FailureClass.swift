import DicomIO
import Guidelines
import NIfTI
import Overlay
import Seeding
import VolumeModel
import Volumetry

/// What kind of failure an error is: the CLI turns it into an exit code, batch runs into the
/// `error_class` column.
public enum FailureClass: String, Sendable, Codable {
    case badDicom = "bad_dicom"
    case noInput = "no_input"
    case badGeometry = "bad_geometry"
    case badMask = "bad_mask"
    case segmentationFailed = "segmentation_failed"
    case unsupported
    case badFacts = "bad_facts"
    case cannotWrite = "cannot_write"
    case usage
    case `internal`

    public static func of(_ error: any Error) -> FailureClass {
        switch error {
        case let e as DicomError:
            switch e {
            case .pathNotFound, .noSeries, .seriesNotFound, .ambiguousSeries: return .noInput
            case .notDicom, .corrupt, .unreadable, .missingTag, .invalidTag, .pixelDecode, .pixelDataSize:
                return .badDicom
            case .unsupported, .notCT: return .unsupported
            case .oneSlice, .duplicatePositions, .missingSlices, .unevenSliceSpacing, .slicesOffLine,
                .mixedPixelSpacing, .mixedMatrix:
                return .badGeometry
            case .cannotWrite: return .cannotWrite
            }
        case is MaskError, is VolumetryError: return .badMask
        case let e as NIfTIError:
            if case .cannotWrite = e { return .cannotWrite }
            return .badMask
        case is OverlayError: return .cannotWrite
        case is FactsError, is RulesError: return .badFacts
        case is SeedError: return .usage
        case let e as AnalysisError:
            switch e {
            case .masksRequired: return .usage
            case .segmentationFailed: return .segmentationFailed
            case .noMatchingSeries: return .noInput
            case .cannotWrite: return .cannotWrite
            }
        default: return .internal
        }
    }
}
