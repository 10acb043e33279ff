// htb_dcmtk.cpp: implementation of the C API in htb_dcmtk.h over DCMTK 3.6.x.
// Everything that touches DCMTK types stays in this file.

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "htb_dcmtk.h"

struct htb_dcm_file {
    DcmFileFormat format;
    bool pixelsDecoded = false;
};

namespace {

std::once_flag setupOnce;

// DCMTK logs to stderr by default; htb's output must be its own. The decoders register into a
// global codec list that is not safe to change while other threads decode, so do it once, first.
void setupToolkit() {
    std::call_once(setupOnce, [] {
        OFLog::configure(OFLogger::OFF_LOG_LEVEL);
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
    });
}

void writeError(char *err, size_t errlen, const std::string &message) {
    if (err == nullptr || errlen == 0) return;
    size_t n = message.size() < errlen - 1 ? message.size() : errlen - 1;
    std::memcpy(err, message.data(), n);
    err[n] = '\0';
}

long copyOut(const OFString &value, char *buf, size_t buflen) {
    if (buf != nullptr && buflen > 0) {
        size_t n = value.length() < buflen - 1 ? value.length() : buflen - 1;
        std::memcpy(buf, value.c_str(), n);
        buf[n] = '\0';
    }
    return static_cast<long>(value.length());
}

// Reads the first bytes and decides whether DCMTK should even try: a Part 10 file has "DICM" at
// byte 128; a bare data set (no meta header, PS3.10 7.1 not followed) starts with a low group
// number, little or big endian. Anything else is not DICOM; parsing it would produce garbage.
htb_dcm_status sniff(const char *path, std::string &why) {
    FILE *fp = std::fopen(path, "rb");
    if (fp == nullptr) {
        why = std::string("cannot open: ") + std::strerror(errno);
        return HTB_DCM_IO;
    }
    unsigned char head[132];
    size_t n = std::fread(head, 1, sizeof head, fp);
    std::fclose(fp);
    if (n == 132 && std::memcmp(head + 128, "DICM", 4) == 0) return HTB_DCM_OK;
    if (n >= 8) {
        unsigned le = head[0] | (head[1] << 8);
        unsigned be = (head[0] << 8) | head[1];
        if (le <= 0x0008 || be == 0x0008) return HTB_DCM_OK;
    }
    why = "not a DICOM file: no 'DICM' prefix at byte 128 and no data set start (group 0000-0008)";
    return HTB_DCM_NOT_DICOM;
}

// Walks path to the item that holds the last step's attribute. Returns nullptr when absent.
DcmItem *itemFor(const htb_dcm_file *file, const htb_dcm_step *path, size_t depth) {
    if (depth == 0) return nullptr;
    DcmFileFormat &format = const_cast<DcmFileFormat &>(file->format);
    DcmItem *item = (path[0].group == 0x0002 && depth == 1)
                        ? static_cast<DcmItem *>(format.getMetaInfo())
                        : static_cast<DcmItem *>(format.getDataset());
    for (size_t i = 0; i + 1 < depth; ++i) {
        DcmItem *next = nullptr;
        DcmTagKey key(path[i].group, path[i].element);
        if (item->findAndGetSequenceItem(key, next, path[i].item).bad() || next == nullptr) return nullptr;
        item = next;
    }
    return item;
}

}  // namespace

extern "C" {

htb_dcm_file *htb_dcm_open(const char *path, int stop_before_pixels, htb_dcm_status *status,
                           char *err, size_t errlen) {
    setupToolkit();
    std::string why;
    htb_dcm_status sniffed = sniff(path, why);
    if (sniffed != HTB_DCM_OK) {
        if (status) *status = sniffed;
        writeError(err, errlen, why);
        return nullptr;
    }
    htb_dcm_file *file = new htb_dcm_file();
    OFCondition cond = stop_before_pixels
        ? file->format.loadFileUntilTag(path, EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                        ERM_autoDetect, DCM_PixelData)
        : file->format.loadFile(path, EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect);
    if (cond.bad()) {
        if (status) *status = HTB_DCM_CORRUPT;
        writeError(err, errlen, std::string("cannot parse DICOM: ") + cond.text());
        delete file;
        return nullptr;
    }
    if (status) *status = HTB_DCM_OK;
    return file;
}

void htb_dcm_close(htb_dcm_file *file) { delete file; }

long htb_dcm_string(const htb_dcm_file *file, const htb_dcm_step *path, size_t depth, char *buf,
                    size_t buflen) {
    DcmItem *item = itemFor(file, path, depth);
    if (item == nullptr) return -1;
    const htb_dcm_step &last = path[depth - 1];
    DcmElement *element = nullptr;
    if (item->findAndGetElement(DcmTagKey(last.group, last.element), element).bad() || element == nullptr)
        return -1;
    OFString value;
    if (element->getLength() == 0) return copyOut(value, buf, buflen);
    if (element->getOFStringArray(value).bad()) return -1;
    return copyOut(value, buf, buflen);
}

long htb_dcm_item_count(const htb_dcm_file *file, const htb_dcm_step *path, size_t depth) {
    DcmItem *item = itemFor(file, path, depth);
    if (item == nullptr) return -1;
    const htb_dcm_step &last = path[depth - 1];
    DcmSequenceOfItems *sequence = nullptr;
    if (item->findAndGetSequence(DcmTagKey(last.group, last.element), sequence).bad() || sequence == nullptr)
        return -1;
    return static_cast<long>(sequence->card());
}

long htb_dcm_transfer_syntax(const htb_dcm_file *file, char *buf, size_t buflen) {
    DcmFileFormat &format = const_cast<DcmFileFormat &>(file->format);
    DcmXfer xfer(format.getDataset()->getOriginalXfer());
    return copyOut(OFString(xfer.getXferID()), buf, buflen);
}

long long htb_dcm_decode_pixels(htb_dcm_file *file, char *err, size_t errlen) {
    DcmDataset *dataset = file->format.getDataset();
    DcmElement *pixels = nullptr;
    if (dataset->findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr) {
        writeError(err, errlen, "no (7FE0,0010) Pixel Data in the data set");
        return -1;
    }
    DcmXfer original(dataset->getOriginalXfer());
    if (original.isEncapsulated()) {
        OFCondition cond = dataset->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        if (cond.bad() || !dataset->canWriteXfer(EXS_LittleEndianExplicit)) {
            writeError(err, errlen, std::string("cannot decode pixel data encoded as ") + original.getXferName() +
                                        " (" + original.getXferID() + ")" +
                                        (cond.bad() ? std::string(": ") + cond.text() : std::string()));
            return -1;
        }
        if (dataset->findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr) {
            writeError(err, errlen, "pixel data vanished while decoding");
            return -1;
        }
    }
    Uint8 *bytes = nullptr;
    OFCondition cond = pixels->getUint8Array(bytes);
    if (cond.bad() || bytes == nullptr) {
        writeError(err, errlen, std::string("cannot read pixel data: ") + (cond.bad() ? cond.text() : "empty value"));
        return -1;
    }
    file->pixelsDecoded = true;
    return static_cast<long long>(pixels->getLength());
}

long long htb_dcm_copy_pixels(const htb_dcm_file *file, void *dst, size_t len) {
    if (!file->pixelsDecoded) return 0;
    DcmFileFormat &format = const_cast<DcmFileFormat &>(file->format);
    DcmElement *pixels = nullptr;
    if (format.getDataset()->findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr) return 0;
    Uint8 *bytes = nullptr;
    if (pixels->getUint8Array(bytes).bad() || bytes == nullptr) return 0;
    size_t available = pixels->getLength();
    size_t n = len < available ? len : available;
    std::memcpy(dst, bytes, n);
    return static_cast<long long>(n);
}

const char *htb_dcm_toolkit_version(void) { return OFFIS_DCMTK_VERSION_STRING; }

}  // extern "C"
