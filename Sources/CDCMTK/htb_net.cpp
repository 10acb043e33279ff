// htb_net.cpp: the network half of the shim. A Storage SCP built from DCMTK's DcmThreadSCP (one
// per association, each on its own thread) and a Storage SCU (DcmStorageSCU).
//
// Why not DcmSCPPool: DCMTK 3.6.7 always listens on every interface. htb binds its own socket
// (127.0.0.1 with loopback_only, so tests and a sidecar never expose a port) and hands each accepted
// connection to DCMTK through dcmExternalSocketHandle, DCMTK's documented hook for sockets accepted
// elsewhere (inetd). That global is read once per ASC_receiveAssociation, so receiving is serialised by
// a mutex; negotiation and DIMSE traffic then run in parallel, one thread per association.
#include "internal.h"

#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmnet/diutil.h"
#include "dcmtk/dcmnet/dstorscu.h"
#include "dcmtk/dcmnet/dul.h"
#include "dcmtk/dcmnet/scpthrd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

using htb::setupToolkit;
using htb::writeError;

namespace {

std::atomic<bool> stopRequested{false};
std::atomic<int> activeAssociations{0};
std::atomic<unsigned long> tempCounter{0};
// dcmExternalSocketHandle is one process-wide value, read by ASC_receiveAssociation.
std::mutex receiveLock;

// Compressed syntaxes first: an instance is stored as the sender encoded it when it offers that.
const char *const transferSyntaxes[] = {
    UID_JPEG2000LosslessOnlyTransferSyntax,  UID_JPEG2000TransferSyntax,
    UID_JPEGLSLosslessTransferSyntax,        UID_JPEGLSLossyTransferSyntax,
    UID_JPEGProcess14SV1TransferSyntax,      UID_JPEGProcess14TransferSyntax,
    UID_JPEGProcess1TransferSyntax,          UID_JPEGProcess2_4TransferSyntax,
    UID_RLELosslessTransferSyntax,           UID_DeflatedExplicitVRLittleEndianTransferSyntax,
    UID_LittleEndianExplicitTransferSyntax,  UID_BigEndianExplicitTransferSyntax,
    UID_LittleEndianImplicitTransferSyntax,
};

std::string trimmed(const char *text) {
    std::string s(text == nullptr ? "" : text);
    size_t b = s.find_first_not_of(' ');
    size_t e = s.find_last_not_of(' ');
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string datasetString(DcmDataset *ds, const DcmTagKey &key) {
    OFString v;
    if (ds->findAndGetOFString(key, v).bad()) return std::string();
    return trimmed(v.c_str());
}

// Data and metadata on disk before the caller is told the instance is stored.
bool syncFile(const std::string &path, std::string &why) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) {
        why = std::string("cannot reopen for fsync: ") + std::strerror(errno);
        return false;
    }
    int rc = ::fsync(fd);
    int saved = errno;
    ::close(fd);
    if (rc != 0) why = std::string("fsync failed: ") + std::strerror(saved);
    return rc == 0;
}

class NodeSCP : public DcmThreadSCP {
public:
    const htb_scp_config *config = nullptr;
    bool busy = false;
    std::string callingAE, peerHost, endEvent = "released", endDetail;
    unsigned int instances = 0;

protected:
    DcmRefuseReasonType refuseReason = DCMSCP_INTERNAL_ERROR;

    void notifyAssociationRequest(const T_ASC_Parameters &params, DcmSCPActionType &action) override {
        callingAE = trimmed(params.DULparams.callingAPTitle);
        peerHost = params.DULparams.callingPresentationAddress;
        std::string called = trimmed(params.DULparams.calledAPTitle);
        int decision = config->accept(config->ctx, callingAE.c_str(), called.c_str(), peerHost.c_str(), busy ? 1 : 0);
        switch (decision) {
            case HTB_SCP_ACCEPT: return;
            case HTB_SCP_REFUSE_CALLED_AE: refuseReason = DCMSCP_CALLED_AE_TITLE_NOT_RECOGNIZED; break;
            case HTB_SCP_REFUSE_BUSY: refuseReason = DCMSCP_TOO_MANY_ASSOCIATIONS; break;
            default: refuseReason = DCMSCP_CALLING_AE_TITLE_NOT_RECOGNIZED; break;
        }
        endEvent = "refused";
        action = DCMSCP_ACTION_REFUSE_ASSOCIATION;
    }

    void refuseAssociation(const DcmRefuseReasonType reason) override {
        // DCMTK refuses a DCMSCP_ACTION_REFUSE_ASSOCIATION request as an internal error; say why instead.
        DcmThreadSCP::refuseAssociation(endEvent == "refused" ? refuseReason : reason);
    }

    void notifyAbortRequest() override { endEvent = "aborted"; }

    void notifyDIMSEError(const OFCondition &cond) override {
        if (endEvent == "released") endEvent = "error";
        endDetail = cond.text();
    }

    OFCondition handleIncomingCommand(T_DIMSE_Message *msg, const DcmPresentationContextInfo &info) override {
        if (msg->CommandField != DIMSE_C_STORE_RQ) return DcmThreadSCP::handleIncomingCommand(msg, info);
        T_DIMSE_C_StoreRQ &req = msg->msg.CStoreRQ;
        // Straight to a file as received (no parse, no re-encoding, no copy in memory: an Enhanced CT
        // of hundreds of MB costs its size on disk only), then the identifiers from its header.
        std::string temp = std::string(config->temp_dir) + "/" + std::to_string(::getpid()) + "-" +
                           std::to_string(tempCounter.fetch_add(1)) + ".part";
        OFCondition cond = receiveSTORERequest(req, info.presentationContextID, OFString(temp.c_str()));
        if (cond.bad()) {
            ::unlink(temp.c_str());
            endEvent = "error";
            endDetail = std::string("receiving a C-STORE data set failed: ") + cond.text();
            return cond;
        }
        ++instances;
        return sendSTOREResponse(info.presentationContextID, req, store(req, temp));
    }

private:
    Uint16 store(const T_DIMSE_C_StoreRQ &req, const std::string &temp) {
        std::string why, sopClass, sopInstance, study, series, modality, xferName;
        unsigned long long bytes = 0;
        DcmFileFormat file;
        OFCondition loaded = file.loadFileUntilTag(temp.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                                   ERM_autoDetect, DCM_PixelData);
        if (loaded.bad()) {
            why = std::string("the received data set cannot be parsed: ") + loaded.text();
        } else if (syncFile(temp, why)) {
            DcmDataset *ds = file.getDataset();
            sopClass = datasetString(ds, DCM_SOPClassUID);
            sopInstance = datasetString(ds, DCM_SOPInstanceUID);
            study = datasetString(ds, DCM_StudyInstanceUID);
            series = datasetString(ds, DCM_SeriesInstanceUID);
            modality = datasetString(ds, DCM_Modality);
            xferName = DcmXfer(ds->getOriginalXfer()).getXferID();
            struct stat st;
            if (::stat(temp.c_str(), &st) == 0) bytes = static_cast<unsigned long long>(st.st_size);
        }
        if (sopClass.empty()) sopClass = trimmed(req.AffectedSOPClassUID);
        if (sopInstance.empty()) sopInstance = trimmed(req.AffectedSOPInstanceUID);
        if (!why.empty()) ::unlink(temp.c_str());
        htb_scp_instance instance = {callingAE.c_str(),  peerHost.c_str(),  sopClass.c_str(),
                                     sopInstance.c_str(), study.c_str(),     series.c_str(),
                                     modality.c_str(),    xferName.c_str(),  why.empty() ? temp.c_str() : "",
                                     why.c_str(),         bytes};
        return config->store(config->ctx, &instance);
    }
};

DcmSCPConfig makeConfig(const htb_scp_config *c) {
    DcmSCPConfig cfg;
    cfg.setAETitle(c->ae_title);
    cfg.setPort(c->port);
    cfg.setRespondWithCalledAETitle(OFFalse);
    cfg.setACSETimeout(c->timeout_seconds);
    cfg.setDIMSETimeout(c->timeout_seconds);
    cfg.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    cfg.setHostLookupEnabled(OFFalse);
    OFList<OFString> uncompressed;
    uncompressed.push_back(UID_LittleEndianExplicitTransferSyntax);
    uncompressed.push_back(UID_LittleEndianImplicitTransferSyntax);
    cfg.addPresentationContext(UID_VerificationSOPClass, uncompressed);
    OFList<OFString> all;
    for (const char *ts : transferSyntaxes) all.push_back(ts);
    // The classes htb keeps first; then other storage classes, so that a wrong one gets a C-STORE
    // status and a logged reason (htb's store callback decides) rather than "no presentation
    // context". An association profile holds at most 128 contexts (odd IDs 1-255): the rest of
    // DCMTK's 186 storage classes are refused at negotiation.
    const char *const kept[] = {UID_CTImageStorage, UID_EnhancedCTImageStorage,
                                UID_LegacyConvertedEnhancedCTImageStorage, UID_SegmentationStorage};
    int contexts = 1;
    for (const char *uid : kept) {
        cfg.addPresentationContext(uid, all);
        ++contexts;
    }
    for (int i = 0; i < numberOfDcmAllStorageSOPClassUIDs && contexts < 128; ++i) {
        const char *uid = dcmAllStorageSOPClassUIDs[i];
        bool isKept = false;
        for (const char *k : kept) isKept = isKept || std::strcmp(k, uid) == 0;
        if (isKept) continue;
        cfg.addPresentationContext(uid, all);
        ++contexts;
    }
    return cfg;
}

void serveConnection(int fd, bool busy, T_ASC_Network *net, const DcmSharedSCPConfig &shared,
                     const htb_scp_config *config) {
    pollfd p = {fd, POLLIN, 0};
    int timeoutMS = static_cast<int>(config->timeout_seconds) * 1000;
    if (::poll(&p, 1, timeoutMS) <= 0) {
        ::close(fd);
        config->end(config->ctx, "", "", "error", "no association request before the timeout", 0);
        return;
    }
    char first;
    if (::recv(fd, &first, 1, MSG_PEEK) == 0) {
        // Connected and closed without a byte: a TCP port probe (a load balancer, Kubernetes' liveness
        // probe). Not DICOM traffic, not logged.
        ::close(fd);
        return;
    }
    T_ASC_Association *assoc = nullptr;
    OFCondition cond;
    {
        std::lock_guard<std::mutex> lock(receiveLock);
        dcmExternalSocketHandle.set(fd);
        cond = ASC_receiveAssociation(net, &assoc, ASC_DEFAULTMAXPDU, nullptr, nullptr, OFFalse, DUL_NOBLOCK,
                                      static_cast<int>(config->timeout_seconds));
        dcmExternalSocketHandle.set(-1);
    }
    if (cond.bad()) {
        if (assoc != nullptr) {
            ASC_dropAssociation(assoc);
            ASC_destroyAssociation(&assoc);
        } else {
            ::close(fd);
        }
        config->end(config->ctx, "", "", "error", (std::string("no association: ") + cond.text()).c_str(), 0);
        return;
    }
    NodeSCP scp;
    scp.config = config;
    scp.busy = busy;
    scp.setSharedConfig(shared);
    cond = scp.run(assoc);
    if (cond.bad() && scp.endDetail.empty()) scp.endDetail = cond.text();
    config->end(config->ctx, scp.callingAE.c_str(), scp.peerHost.c_str(), scp.endEvent.c_str(),
                scp.endDetail.c_str(), scp.instances);
}

}  // namespace

extern "C" int htb_scp_run(const htb_scp_config *config, char *err, size_t errlen) {
    setupToolkit();
    dcmDisableGethostbyaddr.set(OFTrue);
    stopRequested = false;
    int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0) {
        writeError(err, errlen, std::string("socket: ") + std::strerror(errno));
        return -1;
    }
    int one = 1;
    ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr;
    std::memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(config->port);
    addr.sin_addr.s_addr = htonl(config->loopback_only ? INADDR_LOOPBACK : INADDR_ANY);
    if (::bind(ls, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0 || ::listen(ls, 64) != 0) {
        writeError(err, errlen,
                   std::string("bind/listen: ") + std::strerror(errno));
        ::close(ls);
        return -1;
    }
    T_ASC_Network *net = nullptr;
    OFCondition cond;
    {
        // With an external socket set, DCMTK makes no listening socket of its own.
        std::lock_guard<std::mutex> lock(receiveLock);
        dcmExternalSocketHandle.set(ls);
        cond = ASC_initializeNetwork(NET_ACCEPTOR, 0, static_cast<int>(config->timeout_seconds), &net);
        dcmExternalSocketHandle.set(-1);
    }
    if (cond.bad()) {
        writeError(err, errlen, std::string("DCMTK network: ") + cond.text());
        ::close(ls);
        return -1;
    }
    // Heap-held: a thread still running after the deadline below keeps using them.
    auto *shared = new DcmSharedSCPConfig(makeConfig(config));
    while (!stopRequested.load()) {
        pollfd p = {ls, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        int fd = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        bool busy = activeAssociations.load() >= static_cast<int>(config->max_associations);
        activeAssociations.fetch_add(1);
        std::thread([fd, busy, net, shared, config] {
            serveConnection(fd, busy, net, *shared, config);
            activeAssociations.fetch_sub(1);
        }).detach();
    }
    ::close(ls);
    // Associations in progress end by themselves (release, abort or the timeout).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2 * config->timeout_seconds + 1);
    while (activeAssociations.load() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (activeAssociations.load() == 0) {
        ASC_dropNetwork(&net);
        delete shared;
    }
    return 0;
}

extern "C" void htb_scp_stop(void) { stopRequested = true; }

namespace {

class Sender : public DcmStorageSCU {
public:
    std::vector<std::pair<std::string, Uint16>> results;

protected:
    void notifySOPInstanceSent(const TransferEntry &entry) override {
        results.emplace_back(entry.Filename.getCharPointer() == nullptr ? "" : entry.Filename.getCharPointer(),
                             entry.RequestSent ? entry.ResponseStatusCode : 0xFFFF);
    }
};

}  // namespace

extern "C" int htb_scu_store(const char *host, uint16_t port, const char *ae_title, const char *calling_ae,
                             const char *const *paths, size_t count, uint32_t timeout_seconds, uint16_t *statuses,
                             char *err, size_t errlen) {
    setupToolkit();
    for (size_t i = 0; i < count; ++i) statuses[i] = 0xFFFF;
    Sender scu;
    scu.setAETitle(calling_ae);
    scu.setPeerHostName(host);
    scu.setPeerPort(port);
    scu.setPeerAETitle(ae_title);
    scu.setACSETimeout(timeout_seconds);
    scu.setDIMSETimeout(timeout_seconds);
    scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    scu.setConnectionTimeout(static_cast<Sint32>(timeout_seconds));
    for (size_t i = 0; i < count; ++i) {
        OFCondition c = scu.addDicomFile(paths[i], ERM_fileOnly, OFFalse);
        if (c.bad()) {
            writeError(err, errlen, std::string(paths[i]) + ": " + c.text());
            return -1;
        }
    }
    OFCondition cond = scu.addPresentationContexts();
    if (cond.good()) cond = scu.initNetwork();
    if (cond.good()) cond = scu.negotiateAssociation();
    if (cond.bad()) {
        writeError(err, errlen,
                   std::string("no association with ") + ae_title + "@" + host + ":" + std::to_string(port) + ": " +
                       cond.text());
        return -1;
    }
    cond = scu.sendSOPInstances();
    OFCondition released = scu.releaseAssociation();
    int ok = 0;
    for (size_t i = 0; i < count; ++i) {
        for (const auto &r : scu.results) {
            if (r.first == paths[i]) statuses[i] = r.second;
        }
        if (statuses[i] == 0) ++ok;
    }
    if (cond.bad()) writeError(err, errlen, std::string("sending stopped: ") + cond.text());
    else if (released.bad()) writeError(err, errlen, std::string("release failed: ") + released.text());
    return ok;
}

extern "C" int htb_process_die_with_parent(void) {
    pid_t parent = ::getppid();
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return -1;
    // The parent may have died before prctl: then this process was re-parented already.
    return ::getppid() == parent ? 0 : -1;
}
