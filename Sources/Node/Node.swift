import CDCMTK
import DicomIO
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `htb serve`'s settings.
public struct NodeOptions: Sendable {
    public var aeTitle = "HTB"
    public var port = 11112
    public var loopbackOnly = false
    public var spool: String
    public var forward: Destination?
    /// Calling AE titles allowed to associate; nil: any.
    public var acceptFrom: Set<String>?
    public var settleSeconds = 10.0
    public var jobs = 1
    public var maxAssociations = 8
    public var maxStudyBytes: Int64 = 4 << 30
    public var timeoutSeconds = 30
    /// First retry of a failed send after this many seconds, doubling up to 300 s.
    public var retrySeconds = 2.0
    public var maxSendAttempts = 10
    /// The htb executable that analyses a study (`htb analyze` in a child process).
    public var executable: String
    /// Extra arguments for every `htb analyze` (e.g. `--clinical FILE`).
    public var analyzeArguments: [String] = []
    /// Do not listen: finish the spool's pending studies (queued, interrupted, unsent), then return.
    public var drain = false

    public init(spool: String, executable: String) {
        self.spool = spool
        self.executable = executable
    }
}

/// A DICOM node: a Storage SCP that spools CT (and SEG) instances durably, groups them by study,
/// analyses each study once it is quiet, and sends the results (SEG, SR, Secondary Capture) on.
///
/// Threads: DCMTK calls `accept`/`store`/`associationEnded` on one thread per association; the
/// scheduler (`runScheduler`) ticks on the main thread; sends run on a background queue. Every
/// shared state change happens under `lock`; file work (rename, fsync) happens outside it.
public final class Node: StorageHandler, @unchecked Sendable {
    public let options: NodeOptions
    public let spool: Spool
    public let log: EventLog

    /// Storage classes analysed; any other is refused with status 0x0122 and a logged reason.
    public static let ctClasses: Set<String> = [
        SeriesWriter.ctImageStorage, SliceHeader.enhancedCTStorage, SliceHeader.legacyConvertedEnhancedCTStorage,
    ]
    public static let segmentationClass = SliceHeader.segmentationStorage
    /// The reason of a study parked for its size (it stays parked across restarts).
    static let tooLarge = "study larger than"

    struct Live {
        var record: StudyRecord
        /// Bumped by every stored instance: an analysis started on an older generation is stale.
        var generation = 0
        var storesInFlight = 0
        var analysisGeneration = 0
        var process: Process?
        var analysisStarted: Date?
        var sending = false
        var nextSendAt = Date.distantPast
        /// Refuse further instances (the study went over --max-study-mb).
        var overLimit = false
    }

    let lock = NSLock()
    var studies: [String: Live] = [:]
    var stopping = false

    public init(options: NodeOptions, log: EventLog) {
        self.options = options
        self.spool = Spool(root: options.spool)
        self.log = log
    }

    // MARK: Associations

    public func accept(callingAE: String, calledAE: String, peerHost: String, busy: Bool) -> AssociationDecision {
        var fields: [String: Any] = ["calling_ae": callingAE, "called_ae": calledAE, "peer": peerHost]
        let decision: AssociationDecision
        if calledAE != options.aeTitle {
            decision = .refuseCalledAE
            fields["reason"] = "called AE title '\(calledAE)' is not this node's ('\(options.aeTitle)')"
        } else if let allowed = options.acceptFrom, !allowed.contains(callingAE) {
            decision = .refuseCallingAE
            fields["reason"] = "calling AE title '\(callingAE)' is not in --accept-from"
        } else if busy {
            decision = .refuseBusy
            fields["reason"] = "already serving --max-associations \(options.maxAssociations)"
        } else {
            decision = .accept
        }
        fields["accepted"] = decision == .accept
        log.log("association", fields)
        return decision
    }

    public func associationEnded(callingAE: String, peerHost: String, event: String, detail: String, instances: Int) {
        guard event != "refused" else { return }
        var fields: [String: Any] = ["calling_ae": callingAE, "peer": peerHost, "how": event, "instances": instances]
        if !detail.isEmpty { fields["detail"] = detail }
        log.log("association_ended", fields)
    }

    // MARK: Instances

    public func store(_ instance: ReceivedInstance) -> UInt16 {
        let started = Date()
        var fields: [String: Any] = [
            "calling_ae": instance.callingAE, "sop_class_uid": instance.sopClassUID,
            "sop_instance_uid": instance.sopInstanceUID, "study_uid": instance.studyUID,
            "series_uid": instance.seriesUID, "bytes": instance.bytes,
        ]
        func refuse(_ status: UInt16, _ reason: String) -> UInt16 {
            if let temp = instance.tempPath { unlink(temp) }
            fields["status"] = String(format: "0x%04X", status)
            fields["reason"] = reason
            log.log("instance_refused", fields)
            return status
        }
        guard let temp = instance.tempPath else {
            return refuse(DimseStatus.outOfResources, "not written to the spool: \(instance.storeError)")
        }
        let isSEG = instance.sopClassUID == Self.segmentationClass
        guard Self.ctClasses.contains(instance.sopClassUID) || isSEG else {
            let name = htb_dcm_uid_name(instance.sopClassUID).map { String(cString: $0) } ?? instance.sopClassUID
            return refuse(DimseStatus.sopClassNotSupported, "not CT or SEG: \(name) (modality '\(instance.modality)')")
        }
        for (tag, uid) in [
            ("(0020,000D) Study Instance UID", instance.studyUID),
            ("(0020,000E) Series Instance UID", instance.seriesUID),
            ("(0008,0018) SOP Instance UID", instance.sopInstanceUID),
        ] where !DicomGrammar.isUID(uid) {
            return refuse(DimseStatus.cannotUnderstand, "\(tag) '\(uid.prefix(80))' is not a valid UID")
        }
        let uid = instance.studyUID
        let target = (isSEG ? spool.segFolder(uid) : spool.ctFolder(uid)) + "/\(instance.sopInstanceUID).dcm"
        if access(target, F_OK) == 0 {
            // Sent again (a sender retrying after an error): already on disk, the study is not reopened,
            // but it is not quiet either.
            unlink(temp)
            lock.lock()
            studies[uid]?.record.lastReceived = started
            lock.unlock()
            log.log("instance_duplicate", fields)
            return DimseStatus.success
        }

        // 1. Reserve: size limit, study record, state back to receiving.
        lock.lock()
        var live = studies[uid] ?? Live(record: StudyRecord(studyUID: uid, now: started))
        let isNew = studies[uid] == nil
        if live.overLimit || live.record.bytes + instance.bytes > options.maxStudyBytes {
            let limitMB = options.maxStudyBytes >> 20
            if !live.overLimit {
                live.overLimit = true
                live.record.state = .failed
                live.record.reason = "\(Self.tooLarge) --max-study-mb \(limitMB)"
                try? persist(&live.record)
                log.log("study_failed", ["study_uid": uid, "reason": live.record.reason!])
            }
            if !isNew { studies[uid] = live }
            lock.unlock()
            return refuse(DimseStatus.outOfResources, "\(Self.tooLarge) --max-study-mb \(limitMB)")
        }
        do {
            if isNew {
                for dir in [spool.ctFolder(uid), spool.segFolder(uid)] {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                }
                try persist(&live.record)
                log.log("study_received", ["study_uid": uid, "calling_ae": instance.callingAE])
            } else if live.record.state != .receiving && live.record.state != .analysing {
                let was = live.record.state
                live.record.state = .receiving
                live.record.reason = nil
                try persist(&live.record)
                log.log("study_reopened", ["study_uid": uid, "was": was.rawValue])
            }
        } catch {
            lock.unlock()
            return refuse(DimseStatus.outOfResources, "\(error)")
        }
        live.storesInFlight += 1
        live.generation += 1
        live.record.lastReceived = started
        studies[uid] = live
        lock.unlock()

        // 2. Into place (durably), outside the lock.
        var stored = false
        var failure: String?
        do { stored = try Durable.rename(temp, to: target, replace: false) } catch { failure = "\(error)" }
        if !stored { unlink(temp) }

        // 3. Count it.
        lock.lock()
        studies[uid]?.storesInFlight -= 1
        studies[uid]?.record.lastReceived = Date()
        if stored {
            studies[uid]?.record.instances += 1
            studies[uid]?.record.bytes += instance.bytes
        }
        lock.unlock()
        if let failure { return refuse(DimseStatus.outOfResources, failure) }
        fields["ms"] = Int(Date().timeIntervalSince(started) * 1000)
        log.log(stored ? "instance_stored" : "instance_duplicate", fields)
        return DimseStatus.success
    }

    /// Stamps and writes a record (caller holds `lock`).
    func persist(_ record: inout StudyRecord) throws {
        record.updated = Date()
        try spool.write(record)
    }

    // MARK: Start

    /// Prepares the spool and takes up every study where the last run left it.
    public func resume() throws {
        try spool.prepare()
        var resumed: [String: Int] = [:]
        for var record in try spool.load() {
            switch record.state {
            case .analysing:
                // Interrupted: its results (if any) are never used; analysed again from the start.
                record.state = .queued
                try persist(&record)
                log.log("study_resumed", ["study_uid": record.studyUID, "was": "analysing"])
            case .receiving where record.instances == 0:
                // Killed between the study's folder and its first instance: nothing was acknowledged.
                try? FileManager.default.removeItem(atPath: spool.study(record.studyUID))
                continue
            case .receiving, .queued, .sending:
                log.log("study_resumed", ["study_uid": record.studyUID, "was": record.state.rawValue])
            case .sent, .done, .failed:
                break
            }
            resumed[record.state.rawValue, default: 0] += 1
            studies[record.studyUID] = Live(
                record: record, overLimit: record.state == .failed && (record.reason ?? "").hasPrefix(Self.tooLarge))
        }
        log.log(
            "node_started",
            [
                "ae_title": options.aeTitle, "port": options.port, "spool": spool.root, "pid": Int(getpid()),
                "forward": options.forward.map { "\($0)" } ?? "", "studies": resumed,
            ])
    }
}

/// For the `htb analyze` children of a node.
public enum ChildProcess {
    /// With HTB_DIE_WITH_PARENT=1 (set by the node), the kernel kills this process when the node
    /// dies, even by SIGKILL; when the node is already gone, exits at once.
    public static func dieWithParentIfAsked() {
        guard ProcessInfo.processInfo.environment["HTB_DIE_WITH_PARENT"] == "1" else { return }
        if htb_process_die_with_parent() != 0 { exit(0) }
    }
}
