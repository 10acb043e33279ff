import CDCMTK
import Foundation

/// How an association request is answered.
public enum AssociationDecision: Int32, Sendable {
    case accept = 0, refuseCallingAE = 1, refuseCalledAE = 2, refuseBusy = 3
}

/// One instance as the SCP received it: written and fsync'ed to `tempPath` (nil when writing failed:
/// `storeError` says why). The handler owns the file from then on.
public struct ReceivedInstance: Sendable {
    public var callingAE, peerHost, sopClassUID, sopInstanceUID, studyUID, seriesUID, modality, transferSyntax: String
    public var tempPath: String?
    public var storeError: String
    public var bytes: Int64
}

/// What the Storage SCP asks of its owner (called on the association's thread).
public protocol StorageHandler: AnyObject, Sendable {
    func accept(callingAE: String, calledAE: String, peerHost: String, busy: Bool) -> AssociationDecision
    /// Returns the DIMSE status of the C-STORE response.
    func store(_ instance: ReceivedInstance) -> UInt16
    func associationEnded(callingAE: String, peerHost: String, event: String, detail: String, instances: Int)
}

/// DIMSE status codes htb answers with (PS3.4 Annex B and PS3.7 Annex C).
public enum DimseStatus {
    public static let success: UInt16 = 0x0000
    public static let outOfResources: UInt16 = 0xA700
    public static let sopClassNotSupported: UInt16 = 0x0122
    public static let cannotUnderstand: UInt16 = 0xC000
}

/// DCMTK's Storage SCP and SCU behind the C API (`htb_scp_*`, `htb_scu_store`).
public enum DicomNetwork {
    public struct ServerOptions: Sendable {
        public var aeTitle: String
        public var port: Int
        public var loopbackOnly: Bool
        public var maxAssociations: Int
        public var tempFolder: String
        public var timeoutSeconds: Int

        public init(
            aeTitle: String, port: Int, loopbackOnly: Bool, maxAssociations: Int, tempFolder: String,
            timeoutSeconds: Int
        ) {
            self.aeTitle = aeTitle
            self.port = port
            self.loopbackOnly = loopbackOnly
            self.maxAssociations = maxAssociations
            self.tempFolder = tempFolder
            self.timeoutSeconds = timeoutSeconds
        }
    }

    private final class Box {
        let handler: any StorageHandler
        init(_ handler: any StorageHandler) { self.handler = handler }
    }

    private static func text(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }

    /// A NUL-terminated message buffer as text.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Serves until `stop()`; throws when the port cannot be opened.
    public static func serve(_ options: ServerOptions, handler: any StorageHandler) throws {
        let box = Unmanaged.passRetained(Box(handler))
        defer { box.release() }
        var err = [CChar](repeating: 0, count: 512)
        let rc = options.aeTitle.withCString { ae in
            options.tempFolder.withCString { temp in
                var config = htb_scp_config(
                    ae_title: ae, port: UInt16(options.port), loopback_only: options.loopbackOnly ? 1 : 0,
                    max_associations: UInt16(clamping: options.maxAssociations), temp_dir: temp,
                    timeout_seconds: UInt32(options.timeoutSeconds), ctx: box.toOpaque(),
                    accept: { ctx, calling, called, host, busy in
                        let h = Unmanaged<Box>.fromOpaque(ctx!).takeUnretainedValue().handler
                        return h.accept(
                            callingAE: DicomNetwork.text(calling), calledAE: DicomNetwork.text(called),
                            peerHost: DicomNetwork.text(host), busy: busy != 0
                        ).rawValue
                    },
                    store: { ctx, inst in
                        let h = Unmanaged<Box>.fromOpaque(ctx!).takeUnretainedValue().handler
                        let i = inst!.pointee
                        let temp = DicomNetwork.text(i.temp_path)
                        return h.store(
                            ReceivedInstance(
                                callingAE: DicomNetwork.text(i.calling_ae), peerHost: DicomNetwork.text(i.peer_host),
                                sopClassUID: DicomNetwork.text(i.sop_class_uid),
                                sopInstanceUID: DicomNetwork.text(i.sop_instance_uid),
                                studyUID: DicomNetwork.text(i.study_uid), seriesUID: DicomNetwork.text(i.series_uid),
                                modality: DicomNetwork.text(i.modality),
                                transferSyntax: DicomNetwork.text(i.transfer_syntax),
                                tempPath: temp.isEmpty ? nil : temp, storeError: DicomNetwork.text(i.store_error),
                                bytes: Int64(i.bytes)))
                    },
                    end: { ctx, calling, host, event, detail, count in
                        let h = Unmanaged<Box>.fromOpaque(ctx!).takeUnretainedValue().handler
                        h.associationEnded(
                            callingAE: DicomNetwork.text(calling), peerHost: DicomNetwork.text(host),
                            event: DicomNetwork.text(event), detail: DicomNetwork.text(detail), instances: Int(count))
                    })
                return htb_scp_run(&config, &err, err.count)
            }
        }
        if rc != 0 {
            throw NodeError.cannotListen(port: options.port, reason: DicomNetwork.text(err))
        }
    }

    /// Makes a running `serve` return once its associations have ended.
    public static func stop() { htb_scp_stop() }

    /// Sends files by C-STORE in one association. Returns each file's DIMSE status (0xFFFF: not
    /// sent); throws with the reason when no association could be made.
    public static func store(
        files: [String], to destination: Destination, callingAE: String, timeoutSeconds: Int
    ) throws -> [UInt16] {
        var statuses = [UInt16](repeating: 0xFFFF, count: files.count)
        var err = [CChar](repeating: 0, count: 512)
        let cStrings = files.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = cStrings.map { UnsafePointer($0) }
        let rc = pointers.withUnsafeMutableBufferPointer { p in
            htb_scu_store(
                destination.host, UInt16(destination.port), destination.aeTitle, callingAE, p.baseAddress, files.count,
                UInt32(timeoutSeconds), &statuses, &err, err.count)
        }
        if rc < 0 { throw NodeError.cannotSend(destination: "\(destination)", reason: DicomNetwork.text(err)) }
        return statuses
    }
}
